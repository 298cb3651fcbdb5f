#include "LayerImage.h"

#include "Colormap.h"
#include "VolumeDocument.h"


namespace soului {

LayerSlice renderLayers(const VolumeDocument& document, const SliceAxes& axes, const std::array<int64_t, 3>& cursor) {
    SliceStyle style;
    for (int layer = 0; layer < document.layerCount(); ++layer) {
        const LayerDisplay& d = document.layerDisplay(layer);
        if (!d.visible) continue;
        ColourLayer c;
        c.volume = &document.layerVolume(layer);
        c.windowLow = d.windowLow;
        c.windowHigh = d.windowHigh;
        c.threshold = d.threshold;
        c.negativeThreshold = d.negativeThreshold;
        c.opacity = d.opacity;
        c.colormap = colormap(d.colormap);
        style.layers.push_back(c);
    }
    style.underlay = document.underlay();
    style.underlayLow = document.underlayLow();
    style.underlayHigh = document.underlayHigh();
    style.samplesPerVoxel = document.samplesPerVoxel();
    style.fineUnderlay = document.underlayNative();
    const SliceImage image = renderSlice(
        document.volume(), document.labels(), document.labelTable(), axes, cursor, style,
        [&document](int v) { return document.labelVisible(v); }, [&document](int v) { return document.labelOpacity(v); });
    LayerSlice out;
    out.image = QImage(reinterpret_cast<const uchar*>(image.pixels.data()), image.width, image.height, QImage::Format_ARGB32).copy();
    out.aspect = image.pixelHeightMm / image.pixelWidthMm;
    return out;
}

ColourBarSpec colourBarOf(const VolumeDocument& document, int layer) {
    const LayerDisplay& d = document.layerDisplay(layer);
    ColourBarSpec bar;
    bar.colormap = colormap(d.colormap);
    bar.low = d.windowLow;
    bar.high = d.windowHigh;
    bar.threshold = d.threshold;
    bar.negativeThreshold = d.negativeThreshold;
    const QString name = document.layerName(layer);
    bar.title = d.unit.isEmpty() ? name : QString("%1 (%2)").arg(name, d.unit);
    bar.shortTitle = d.unit.isEmpty() ? name : d.unit;
    return bar;
}

std::vector<ColourBarSpec> colourBarsOf(const VolumeDocument& document) {
    std::vector<ColourBarSpec> bars;
    for (int layer = document.layerCount() - 1; layer >= 0; --layer)
        if (document.layerDisplay(layer).visible) bars.push_back(colourBarOf(document, layer));
    return bars;
}

}  // namespace soului
