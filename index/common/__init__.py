"""Common: plain helpers every floor may use. Imports nothing else from `index`.

fileio.py     hashes and durable (fsync'd, atomic) writes
observe.py    what the engine reports as it works (step times, model calls), for /metrics
cpu.py        the CPU's model and int8 flags (VNNI or not), printed beside every figure
metrics.py    F1, balanced accuracy, calibration error, softmax, isotonic and temperature fits
"""
