"""What a user would otherwise do to read a subject's raw files: nibabel for the betas sessions,
h5py for the stimuli. Prints one JSON line of seconds. Usage: read_betas.py STIMULI.hdf5 BETAS..."""
import json
import sys
import time

import h5py
import nibabel as nib
import numpy as np

stimuli, betas = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
total = 0.0
for path in betas:
    data = np.asanyarray(nib.load(path).dataobj)
    total += float(data[..., 0].sum())
read_betas = time.perf_counter() - start
start = time.perf_counter()
with h5py.File(stimuli, "r") as f:
    images = f["imgBrick"][:]
read_images = time.perf_counter() - start
print(json.dumps({"betas_s": read_betas, "images_s": read_images, "images": int(images.shape[0])}))
