#include "LayerImage.h"

#include "Colormap.h"
#include "VolumeDocument.h"

#include <QFileInfo>

namespace soului {

LayerSlice renderLayers(const VolumeDocument& document, const SliceAxes& axes, const std::array<int64_t, 3>& cursor) {
    SliceStyle style;
    style.windowLow = document.windowLow();
    style.windowHigh = document.windowHigh();
    style.threshold = document.threshold();
    style.negativeThreshold = document.negativeThreshold();
    style.opacity = document.opacity();
    style.colormap = colormap(document.colormapName());
    style.underlay = document.underlay();
    style.underlayLow = document.underlayLow();
    style.underlayHigh = document.underlayHigh();
    const SliceImage image = renderSlice(
        document.volume(), document.labels(), document.labelTable(), axes, cursor, style,
        [&document](int v) { return document.labelVisible(v); }, [&document](int v) { return document.labelOpacity(v); });
    LayerSlice out;
    out.image = QImage(reinterpret_cast<const uchar*>(image.pixels.data()), image.width, image.height, QImage::Format_ARGB32).copy();
    out.aspect = image.pixelHeightMm / image.pixelWidthMm;
    return out;
}

ColourBarSpec colourBarOf(const VolumeDocument& document) {
    ColourBarSpec bar;
    bar.colormap = colormap(document.colormapName());
    bar.low = document.windowLow();
    bar.high = document.windowHigh();
    bar.threshold = document.threshold();
    bar.negativeThreshold = document.negativeThreshold();
    const QString name = QFileInfo(document.volumePath()).fileName();
    bar.title = document.valueUnit().isEmpty() ? name : QString("%1 (%2)").arg(name, document.valueUnit());
    return bar;
}

}  // namespace soului
