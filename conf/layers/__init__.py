"""The conv, norm and act groups, on Hydra's search path (`pkg://toolkit.conf.layers`)."""
