"""`python -m toolkit ...`: the same command as `python train.py ...` and `toolkit-train ...`."""

from toolkit.app import main

if __name__ == "__main__":
    main()
