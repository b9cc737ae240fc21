"""Train a network from the Hydra config in conf/: `python train.py norm=gn init=kaiming`."""

from toolkit.app import main

if __name__ == "__main__":
    main()
