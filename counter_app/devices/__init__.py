"""Adapters to the counter's devices (设备): card readers, PIN pads, printers."""
