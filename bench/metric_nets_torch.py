"""The NSD metric networks in Debian's python3-torchvision, for bench_metric_nets: seconds (best of 3) to take
the features of IMAGES images (batches of 16, no gradients, random weights) with
create_feature_extractor, as MindEye2's evaluation does; and PixCorr + SSIM of IMAGES 256-px image
pairs as its notebook computes them (torchvision Resize, skimage rgb2gray + structural_similarity).

Usage: /usr/bin/python3 metric_nets_torch.py IMAGES THREADS RESULT.json
"""
import json
import sys
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
REPEATS = 3   # the best of three, as bench_metric_nets takes: the 2 cores are shared


def main(images, threads, result):
    from skimage.color import rgb2gray
    from skimage.metrics import structural_similarity as ssim
    from torchvision import transforms
    from torchvision.models import alexnet, efficientnet_b1, inception_v3, resnet50
    from torchvision.models.feature_extraction import create_feature_extractor

    torch.set_num_threads(threads)   # the engine's count: the process may inherit OMP_NUM_THREADS=1
    torch.manual_seed(0)
    nets = {
        "AlexNet": (alexnet(), ["features.4", "features.11"], 256),
        "Inception v3": (inception_v3(init_weights=False, aux_logits=True, transform_input=True), ["avgpool"], 342),
        "EfficientNet-B1": (efficientnet_b1(), ["avgpool"], 255),
        "SwAV ResNet-50": (resnet50(), ["avgpool"], 224),
    }
    out = {"threads": torch.get_num_threads(), "seconds": {}}
    for name, (model, layers, size) in nets.items():
        extractor = create_feature_extractor(model.eval(), return_nodes=layers).eval()
        x = torch.randn(16, 3, size, size)
        best = float("inf")
        with torch.no_grad():
            extractor(x[:2])
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                for i in range(0, images, 16):
                    extractor(x[: min(16, images - i)])
                best = min(best, time.perf_counter() - t0)
        out["seconds"][name] = best
    a, b = torch.rand(images, 3, 256, 256), torch.rand(images, 3, 256, 256)
    t0 = time.perf_counter()
    pre = transforms.Resize(425, interpolation=transforms.InterpolationMode.BILINEAR)
    fa, fb = pre(a).reshape(images, -1), pre(b).reshape(images, -1)
    [np.corrcoef(fa[i], fb[i])[0][1] for i in range(images)]
    ga, gb = rgb2gray(pre(a).permute(0, 2, 3, 1)), rgb2gray(pre(b).permute(0, 2, 3, 1))
    [ssim(y, x, multichannel=True, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0) for x, y in zip(ga, gb)]
    out["seconds"]["PixCorr + SSIM"] = time.perf_counter() - t0
    with open(result, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
