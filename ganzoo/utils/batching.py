"""How a global batch splits over devices: framework-free, so the CLI checks it before Keras loads."""


def batch_split_error(batch_size, devices):
    """The one-line message for a global batch that `devices` cannot split evenly, or None.

    Example:
        >>> batch_split_error(64, 3)
        'batch size 64 is not divisible by 3 devices; use --batch-size 63 or 66, or --devices 2/4'
    """
    if devices is None or devices <= 1 or batch_size % devices == 0:
        return None
    low = batch_size - batch_size % devices
    sizes = f"{low} or {low + devices}" if low else f"{devices}"
    fewer = max((d for d in range(1, devices) if batch_size % d == 0), default=1)
    more = next((d for d in range(devices + 1, batch_size + 1) if batch_size % d == 0), None)
    counts = f"{fewer}/{more}" if more else f"{fewer}"
    return (
        f"batch size {batch_size} is not divisible by {devices} devices; "
        f"use --batch-size {sizes}, or --devices {counts}"
    )
