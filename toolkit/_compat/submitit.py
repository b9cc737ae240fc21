"""submitit's private names that toolkit uses (written against submitit 1.5; the `sweep` extra).

>>> import signal, os
>>> os.environ.pop("SUBMITIT_PREEMPT_SIGNAL", None) and None
>>> preemption_signal() == signal.SIGUSR2
True
"""

from __future__ import annotations

import signal

from submitit import JobEnvironment


def preemption_signal() -> signal.Signals:
    """The signal on which submitit requeues a job: SLURM's before the time limit or on preemption
    (USR2 unless `SUBMITIT_PREEMPT_SIGNAL` names another)."""
    return JobEnvironment._usr_sig()
