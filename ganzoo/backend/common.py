"""Backend-neutral helpers shared by the backend modules (no framework imports).

Example:
    >>> positive_int(2, "devices")
    2
    >>> pick_devices(["cpu:0", "cpu:1"], 1, "CPU", "")
    ['cpu:0']
"""

# The names every backend module defines (`ganzoo.backend` re-exports the chosen one's).
API = (
    "NAME",
    "SYNCHRONIZED_BATCHNORM",
    "COMPILES_PER_BATCH_SIZE",
    "STRATEGY_MODULES",
    "train_step",
    "value_and_grad",
    "pullback",
    "input_grad",
    "cond",
    "no_grad",
    "replica_info",
    "cross_replica_sum",
    "local_value",
    "assign_is_collective",
    "process_info",
    "broadcast_floats",
    "simulate_cpu_devices",
    "initialize_multi_process",
    "strategy_parts",
    "distribution_scope",
    "custom_fit",
    "preferred_data_format",
    "FAST_CONV_TRANSPOSE",
    "SPLIT_GROUPED_CONV",
    "FIR_BY_SLICES",
    "FUSED_BATCH_NORM",
)


def positive_int(value, name):
    """`value` if it is a positive int (not a bool), else a ValueError naming `name`.

    Example:
        >>> positive_int(3, "n")
        3
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


def pick_devices(available, devices, kind, hint):
    """The devices a strategy runs on: all of `available` (None), the first N (int), or a list.

    Args:
        available: the devices the framework sees, in its order.
        devices: None, an int N, or a list of devices.
        kind: what they are ("GPU", "CPU"), for the error message.
        hint: how to get more devices, appended to the error.

    Example:
        >>> pick_devices(["a", "b", "c"], 2, "CPU", "")
        ['a', 'b']
    """
    if devices is None:
        return list(available)
    if isinstance(devices, int):
        if devices > len(available):
            raise RuntimeError(
                f"Asked for {devices} devices but only {len(available)} {kind} device(s) are "
                f"available: {list(available)}. {hint}"
            )
        return list(available)[:devices]
    return list(devices)
