"""What a user would otherwise do: open an NSD session file with nibabel and take out its volumes.

Prints one JSON line: seconds to open (load and decompress into memory) and to extract every
volume of the 4D series as float32, the same two steps bench_nifti_open times in C++.
"""
import json
import sys
import time

import nibabel as nib
import numpy as np

path = sys.argv[1]
start = time.perf_counter()
image = nib.load(path)
data = np.asanyarray(image.dataobj)  # int16 on disk, slope 1: stays int16, like the file
opened = time.perf_counter()
checksum = 0.0
for t in range(data.shape[3]):
    frame = data[..., t].astype(np.float32)
    checksum += float(frame[40, 50, 40])
extracted = time.perf_counter()
print(json.dumps({"open_s": opened - start, "extract_s": extracted - opened,
                  "frames": int(data.shape[3]), "checksum": checksum,
                  "nibabel": nib.__version__, "numpy": np.__version__}))
