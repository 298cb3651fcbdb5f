// Inception v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer Vision")
// in torchvision's layout (torchvision/models/inception.py: BasicConv2d = conv without bias, then
// BatchNorm ε 1e-3 and ReLU; Mixed_5b … Mixed_7c). torchvision turns transform_input on for the
// pretrained weights: the ImageNet-normalised input is re-normalised to (x − 0.5) / 0.5, done here
// too. The auxiliary classifier acts only in training. MindEye2's evaluation takes its avgpool
// output (2048 values).
#include "metric_nets.h"

namespace soul::metrics {
namespace {

namespace nn = torch::nn;

struct BasicConvImpl : nn::Module {
    nn::Conv2d conv{nullptr};
    nn::BatchNorm2d bn{nullptr};
    BasicConvImpl(int in, int out, std::vector<int64_t> kernel, std::vector<int64_t> padding = {0, 0}, int stride = 1) {
        conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false)));
        bn = register_module("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(1e-3)));
    }
    torch::Tensor forward(const torch::Tensor& x) { return torch::relu(bn(conv(x))); }
};
TORCH_MODULE(BasicConv);

BasicConv square(int in, int out, int k, int pad = 0, int stride = 1) { return BasicConv(in, out, std::vector<int64_t>{k, k}, std::vector<int64_t>{pad, pad}, stride); }
BasicConv row(int in, int out, int k) { return BasicConv(in, out, std::vector<int64_t>{1, k}, std::vector<int64_t>{0, k / 2}); }      // (1, k)
BasicConv column(int in, int out, int k) { return BasicConv(in, out, std::vector<int64_t>{k, 1}, std::vector<int64_t>{k / 2, 0}); }   // (k, 1)
torch::Tensor pool_same(const torch::Tensor& x) { return torch::avg_pool2d(x, 3, 1, 1); }   // count_include_pad, as F.avg_pool2d

// A branch: convolutions applied one after another.
struct Chain {
    std::vector<BasicConv> convs;
    torch::Tensor operator()(torch::Tensor x) const {
        for (BasicConv c : convs) x = c->forward(x);
        return x;
    }
};

struct MixedModule : nn::Module {
    Chain chain(std::initializer_list<std::pair<const char*, BasicConv>> convs) {
        Chain c;
        for (const auto& [name, conv] : convs) c.convs.push_back(register_module(name, conv));
        return c;
    }
};

struct InceptionAImpl : MixedModule {
    Chain b1, b5, b3, bp;
    InceptionAImpl(int in, int pool) {
        b1 = chain({{"branch1x1", square(in, 64, 1)}});
        b5 = chain({{"branch5x5_1", square(in, 48, 1)}, {"branch5x5_2", square(48, 64, 5, 2)}});
        b3 = chain({{"branch3x3dbl_1", square(in, 64, 1)}, {"branch3x3dbl_2", square(64, 96, 3, 1)}, {"branch3x3dbl_3", square(96, 96, 3, 1)}});
        bp = chain({{"branch_pool", square(in, pool, 1)}});
    }
    torch::Tensor forward(const torch::Tensor& x) { return torch::cat({b1(x), b5(x), b3(x), bp(pool_same(x))}, 1); }
};
TORCH_MODULE(InceptionA);

struct InceptionBImpl : MixedModule {
    Chain b3, bd;
    explicit InceptionBImpl(int in) {
        b3 = chain({{"branch3x3", square(in, 384, 3, 0, 2)}});
        bd = chain({{"branch3x3dbl_1", square(in, 64, 1)}, {"branch3x3dbl_2", square(64, 96, 3, 1)}, {"branch3x3dbl_3", square(96, 96, 3, 0, 2)}});
    }
    torch::Tensor forward(const torch::Tensor& x) { return torch::cat({b3(x), bd(x), torch::max_pool2d(x, 3, 2)}, 1); }
};
TORCH_MODULE(InceptionB);

struct InceptionCImpl : MixedModule {
    Chain b1, b7, bd, bp;
    InceptionCImpl(int in, int c7) {
        b1 = chain({{"branch1x1", square(in, 192, 1)}});
        b7 = chain({{"branch7x7_1", square(in, c7, 1)}, {"branch7x7_2", row(c7, c7, 7)}, {"branch7x7_3", column(c7, 192, 7)}});
        bd = chain({{"branch7x7dbl_1", square(in, c7, 1)}, {"branch7x7dbl_2", column(c7, c7, 7)}, {"branch7x7dbl_3", row(c7, c7, 7)},
                    {"branch7x7dbl_4", column(c7, c7, 7)}, {"branch7x7dbl_5", row(c7, 192, 7)}});
        bp = chain({{"branch_pool", square(in, 192, 1)}});
    }
    torch::Tensor forward(const torch::Tensor& x) { return torch::cat({b1(x), b7(x), bd(x), bp(pool_same(x))}, 1); }
};
TORCH_MODULE(InceptionC);

struct InceptionDImpl : MixedModule {
    Chain b3, b7;
    explicit InceptionDImpl(int in) {
        b3 = chain({{"branch3x3_1", square(in, 192, 1)}, {"branch3x3_2", square(192, 320, 3, 0, 2)}});
        b7 = chain({{"branch7x7x3_1", square(in, 192, 1)}, {"branch7x7x3_2", row(192, 192, 7)}, {"branch7x7x3_3", column(192, 192, 7)},
                    {"branch7x7x3_4", square(192, 192, 3, 0, 2)}});
    }
    torch::Tensor forward(const torch::Tensor& x) { return torch::cat({b3(x), b7(x), torch::max_pool2d(x, 3, 2)}, 1); }
};
TORCH_MODULE(InceptionD);

struct InceptionEImpl : MixedModule {
    Chain b1, b3, b3a, b3b, bd, bda, bdb, bp;
    explicit InceptionEImpl(int in) {
        b1 = chain({{"branch1x1", square(in, 320, 1)}});
        b3 = chain({{"branch3x3_1", square(in, 384, 1)}});
        b3a = chain({{"branch3x3_2a", row(384, 384, 3)}});
        b3b = chain({{"branch3x3_2b", column(384, 384, 3)}});
        bd = chain({{"branch3x3dbl_1", square(in, 448, 1)}, {"branch3x3dbl_2", square(448, 384, 3, 1)}});
        bda = chain({{"branch3x3dbl_3a", row(384, 384, 3)}});
        bdb = chain({{"branch3x3dbl_3b", column(384, 384, 3)}});
        bp = chain({{"branch_pool", square(in, 192, 1)}});
    }
    torch::Tensor forward(const torch::Tensor& x) {
        const auto t3 = b3(x), td = bd(x);
        return torch::cat({b1(x), torch::cat({b3a(t3), b3b(t3)}, 1), torch::cat({bda(td), bdb(td)}, 1), bp(pool_same(x))}, 1);
    }
};
TORCH_MODULE(InceptionE);

struct InceptionV3Impl : MetricNetwork {
    nn::Sequential stem1, stem2, mixed;
    InceptionV3Impl() {
        // Registered one by one so that the keys read Conv2d_1a_3x3.conv.weight, Mixed_5b.branch1x1…
        stem1 = nn::Sequential(register_module("Conv2d_1a_3x3", square(3, 32, 3, 0, 2)), register_module("Conv2d_2a_3x3", square(32, 32, 3)),
                               register_module("Conv2d_2b_3x3", square(32, 64, 3, 1)));
        stem2 = nn::Sequential(register_module("Conv2d_3b_1x1", square(64, 80, 1)), register_module("Conv2d_4a_3x3", square(80, 192, 3)));
        mixed = nn::Sequential(register_module("Mixed_5b", InceptionA(192, 32)), register_module("Mixed_5c", InceptionA(256, 64)),
                               register_module("Mixed_5d", InceptionA(288, 64)), register_module("Mixed_6a", InceptionB(288)),
                               register_module("Mixed_6b", InceptionC(768, 128)), register_module("Mixed_6c", InceptionC(768, 160)),
                               register_module("Mixed_6d", InceptionC(768, 160)), register_module("Mixed_6e", InceptionC(768, 192)),
                               register_module("Mixed_7a", InceptionD(768)), register_module("Mixed_7b", InceptionE(1280)),
                               register_module("Mixed_7c", InceptionE(2048)));
    }
    std::vector<std::string> layer_names() const override { return {"avgpool"}; }
    std::vector<torch::Tensor> layers(torch::Tensor x) override {
        // transform_input: undo the ImageNet normalisation, apply (x − 0.5) / 0.5.
        const auto mean = torch::tensor({0.485, 0.456, 0.406}, x.options()).view({1, 3, 1, 1});
        const auto std = torch::tensor({0.229, 0.224, 0.225}, x.options()).view({1, 3, 1, 1});
        x = x * (std / 0.5) + (mean - 0.5) / 0.5;
        x = torch::max_pool2d(stem1->forward(x), 3, 2);
        x = torch::max_pool2d(stem2->forward(x), 3, 2);
        return {mixed->forward(x).mean({2, 3})};
    }
};

}  // namespace

std::shared_ptr<MetricNetwork> make_inception_v3() { return std::make_shared<InceptionV3Impl>(); }

}  // namespace soul::metrics
