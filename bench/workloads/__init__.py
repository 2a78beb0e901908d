"""One module per benchmark workload; each exposes ``TITLE``, ``KIND``, ``setup()`` and ``build()``.

``KIND`` is ``"time"`` (the worker times every callable in ``impl.timers``, interleaving the three
implementations) or ``"memory"`` (the worker measures the peak memory increase of ``impl.run()``
in a fresh process per implementation). ``build(impl, data)`` returns an object with ``check()``
(loss and gradient norms of one forward+backward, for the cross-implementation sanity check) and
either ``timers`` or ``run()`` / ``reset()``.
"""

MEMORY = {"w5"}  # measured per implementation in its own process
WORKLOADS = ("w1", "w2", "w3", "w4", "w5", "w7", "w8")
MODULES = {
    "w1": "w1_mlp_step",
    "w2": "w2_small_mlp",
    "w3": "w3_chain",
    "w4": "w4_backward_ratio",
    "w5": "w5_memory",
    "w7": "w7_conv",
    "w8": "w8_training",
}
