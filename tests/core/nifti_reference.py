"""Reference NIfTI files and values from nibabel (Debian's python3-nibabel) for tst_volume_io.

  nifti_reference.py write DIR   writes the forms a user has that ITK's reader refused: a .hdr/.img
                                 pair with a sheared sform, a big-endian scaled int16 file with a
                                 qform only, and a 4D NIfTI-2 file
  nifti_reference.py read FILE   prints nibabel's reading of FILE as JSON: shape, affine, and the
                                 scaled voxel values with x fastest (NIfTI's order)
"""
import json
import os
import sys

import nibabel as nib
import numpy as np


def write(folder):
    rng = np.random.default_rng(7)
    sheared = np.array([[1.8, 0.4, 0, -20], [0, 1.8, 0, -30], [0.1, 0, 2.5, -10], [0, 0, 0, 1]])
    pair = nib.Nifti1Pair(rng.normal(size=(5, 6, 7)).astype(np.float32), sheared)
    pair.to_filename(os.path.join(folder, "pair.img"))

    stored = rng.integers(-3000, 3000, size=(6, 5, 4, 3)).astype(np.int16)
    big = nib.Nifti1Image(stored, None)
    big.header.set_qform(np.diag([-2.0, 2.0, 3.0, 1.0]) + np.array([[0, 0, 0, 40], [0, 0, 0, -50], [0, 0, 0, 8], [0, 0, 0, 0]]), code=1)
    big.header.set_sform(None, code=0)
    big.header.set_slope_inter(1 / 300, 0.5)
    byteswapped = nib.Nifti1Image(stored.astype(">i2"), None, big.header.as_byteswapped(">"))
    byteswapped.header.set_slope_inter(1 / 300, 0.5)
    byteswapped.to_filename(os.path.join(folder, "bigendian.nii.gz"))

    two = nib.Nifti2Image(rng.normal(size=(4, 3, 5, 2)), np.diag([1.5, 1.5, 1.5, 1.0]))
    two.header.set_data_dtype(np.float64)
    two.to_filename(os.path.join(folder, "two.nii"))


def read(path):
    image = nib.load(path)
    values = np.asarray(image.dataobj, dtype=np.float64)
    print(json.dumps({
        "shape": list(image.shape),
        "affine": image.affine.tolist(),
        "values": values.flatten(order="F").tolist(),
    }))


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
