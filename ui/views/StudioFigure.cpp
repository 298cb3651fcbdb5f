#include "StudioFigure.h"

#include "ColourBar.h"
#include "LayerImage.h"
#include "VolumeDocument.h"

#include <QFileInfo>
#include <QPageLayout>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>

#include <algorithm>
#include <cmath>

namespace soului {
namespace {

constexpr double kLogicalDpi = 96;    // the layout's unit: Qt's logical pixel, 1/96 inch
constexpr double kMmPerInch = 25.4;
constexpr double kMargin = 6;         // around the figure and between its panels
constexpr double kBarWidth = 64;      // the colour bar's strip, numbers included
constexpr double kMaxRowShare = 0.5;  // the 3D/reconstruction row at most half as tall as wide
constexpr double kTileFont = 9;       // slice coordinates: about 6.5 pt in print
constexpr double kTitleHeight = 14;   // the line above the slices: the layer's name and unit
// A figure's pixels at most (QImage's limit is 2^31 bytes).
constexpr double kMaxPixels = 400e6;

SliceOrientation orientationOf(const QString& name) {
    return name == "coronal" ? SliceOrientation::Coronal : name == "sagittal" ? SliceOrientation::Sagittal : SliceOrientation::Axial;
}

struct Layout {
    double width = 0, height = 0;
    SliceAxes axes;
    std::vector<int64_t> slices;
    double tileWidth = 0, tileHeight = 0;
    QRectF title, lightbox, bar;
    std::vector<std::pair<QRectF, QImage>> row;
};

Layout layoutOf(const FigureSpec& spec, const FigureContent& content) {
    Layout l;
    const VolumeDocument& d = *content.document;
    const soul::Volume& v = d.volume();
    l.axes = sliceAxes(v.ijk_to_ras, orientationOf(spec.orientation), content.radiological);
    l.slices = lightboxSlices(v.dims[l.axes.normal], spec.slices);
    l.width = spec.widthMm / kMmPerInch * kLogicalDpi;
    const double inner = l.width - 2 * kMargin;
    const double mmWide = static_cast<double>(v.dims[l.axes.horizontal]) * v.spacing[l.axes.horizontal];
    const double mmHigh = static_cast<double>(v.dims[l.axes.vertical]) * v.spacing[l.axes.vertical];
    const double barsWidth = kBarWidth * static_cast<double>(std::max<size_t>(1, colourBarsOf(d).size()));
    l.tileWidth = (inner - barsWidth) / spec.columns;
    l.tileHeight = l.tileWidth * mmHigh / mmWide;
    const int rows = (spec.slices + spec.columns - 1) / spec.columns;
    l.title = QRectF(kMargin, kMargin, inner, kTitleHeight);
    l.lightbox = QRectF(kMargin, l.title.bottom(), l.tileWidth * spec.columns, l.tileHeight * rows);
    l.bar = QRectF(l.lightbox.right(), l.lightbox.top(), barsWidth, l.lightbox.height());
    double y = l.lightbox.bottom();

    std::vector<QImage> images;
    if (spec.threeD && !content.view3d.isNull()) images.push_back(content.view3d);
    if (spec.reconstruction && !content.reconstruction.isNull()) images.push_back(content.reconstruction);
    if (!images.empty()) {
        double aspects = 0;
        for (const QImage& image : images) aspects += static_cast<double>(image.width()) / image.height();
        const double gaps = kMargin * static_cast<double>(images.size() - 1);
        const double h = std::min((inner - gaps) / aspects, l.width * kMaxRowShare);
        double x = kMargin + (inner - (h * aspects + gaps)) / 2;
        y += kMargin;
        for (const QImage& image : images) {
            const double w = h * image.width() / image.height();
            l.row.emplace_back(QRectF(x, y, w, h), image);
            x += w + kMargin;
        }
        y += h;
    }
    l.height = y + kMargin;
    return l;
}

QSize pixelSizeOf(const Layout& l, double dpi) {
    const double s = dpi / kLogicalDpi;
    return QSize(static_cast<int>(std::lround(l.width * s)), static_cast<int>(std::lround(l.height * s)));
}

// `image` resampled to the pixels `rect` covers at `dpi`: nearest neighbour for voxels (no
// blurred edges in print), smooth for photographs and renderings.
QImage atResolution(const QImage& image, const QRectF& rect, double dpi, Qt::TransformationMode mode) {
    const double s = dpi / kLogicalDpi;
    const QSize size(std::max(1, static_cast<int>(std::lround(rect.width() * s))), std::max(1, static_cast<int>(std::lround(rect.height() * s))));
    return image.scaled(size, Qt::IgnoreAspectRatio, mode);
}

QString axisName(const soul::Affine& ijkToRas, int voxelAxis) {
    const AxisMap map = axisMap(ijkToRas);
    for (int ras = 0; ras < 3; ++ras)
        if (map.voxelAxisOf[ras] == voxelAxis) return QString("xyz"[ras]);
    return "k";
}

void paintFigure(QPainter& painter, const Layout& l, const FigureSpec& spec, const FigureContent& content) {
    const VolumeDocument& d = *content.document;
    const soul::Volume& v = d.volume();
    painter.scale(spec.dpi / kLogicalDpi, spec.dpi / kLogicalDpi);
    painter.fillRect(QRectF(0, 0, l.width, l.height), Qt::black);
    QFont font = painter.font();
    font.setPixelSize(static_cast<int>(kTileFont));
    painter.setFont(font);
    const QString axis = axisName(v.ijk_to_ras, l.axes.normal);
    for (size_t n = 0; n < l.slices.size(); ++n) {
        const int column = static_cast<int>(n) % spec.columns, rowIndex = static_cast<int>(n) / spec.columns;
        const QRectF tile(l.lightbox.left() + column * l.tileWidth, l.lightbox.top() + rowIndex * l.tileHeight, l.tileWidth, l.tileHeight);
        std::array<int64_t, 3> cursor = d.cursor();
        cursor[static_cast<size_t>(l.axes.normal)] = l.slices[n];
        const LayerSlice slice = renderLayers(d, l.axes, cursor);
        painter.drawImage(tile, atResolution(slice.image, tile, spec.dpi, Qt::FastTransformation));
        // The slice's scanner coordinate, e.g. "z = 12.6 mm".
        const auto ras = v.ijk_to_ras.apply(static_cast<double>(cursor[0]), static_cast<double>(cursor[1]), static_cast<double>(cursor[2]));
        const int rasAxis = QString("xyz").indexOf(axis);
        const QString where = QString("%1 = %2 mm").arg(axis).arg(rasAxis >= 0 ? ras[static_cast<size_t>(rasAxis)] : 0.0, 0, 'f', 1);
        const QRectF label = painter.boundingRect(tile.adjusted(2, 0, 0, -1), Qt::AlignLeft | Qt::AlignBottom, where);
        painter.fillRect(label.adjusted(-1, 0, 1, 0), QColor(0, 0, 0, 150));   // legible over bright anatomy
        painter.setPen(QColor(230, 230, 230));
        painter.drawText(label, Qt::AlignLeft | Qt::AlignBottom, where);
        if (n == 0) {
            painter.setPen(QColor(255, 210, 80));
            painter.drawText(tile.adjusted(3, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter, QString::fromStdString(l.axes.left));
            painter.drawText(tile.adjusted(0, 0, -3, 0), Qt::AlignRight | Qt::AlignVCenter, QString::fromStdString(l.axes.right));
        }
    }
    std::vector<ColourBarSpec> bars = colourBarsOf(d);
    QStringList titles;
    for (const ColourBarSpec& bar : bars) titles << bar.title;
    painter.setPen(QColor(230, 230, 230));
    painter.drawText(l.title, Qt::AlignRight | Qt::AlignVCenter, titles.join(" · "));
    painter.drawText(l.title, Qt::AlignLeft | Qt::AlignVCenter,
                     QString("%1 slices").arg(spec.orientation) + (d.hasUnderlay() ? QString(" over %1").arg(QFileInfo(d.underlayPath()).fileName()) : QString()));
    // The titles are the figure's title line; with several bars each keeps its short one (its unit
    // or its name) so that they can be told apart.
    if (bars.size() == 1) bars[0].title.clear();
    paintColourBars(painter, l.bar, bars);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    for (const auto& [rect, image] : l.row) painter.drawImage(rect, atResolution(image, rect, spec.dpi, Qt::SmoothTransformation));
}

}  // namespace

std::vector<int64_t> lightboxSlices(int64_t axisLength, int slices) {
    std::vector<int64_t> out;
    if (axisLength <= 0 || slices <= 0) return out;
    for (int n = 0; n < slices; ++n) {
        const double at = (n + 0.5) * static_cast<double>(axisLength) / slices;
        out.push_back(std::clamp<int64_t>(static_cast<int64_t>(std::floor(at)), 0, axisLength - 1));
    }
    return out;
}

QSize figurePixelSize(const FigureSpec& spec, const FigureContent& content) {
    if (!content.document || !content.document->hasVolume() || !spec.problem().isEmpty()) return {};
    return pixelSizeOf(layoutOf(spec, content), spec.dpi);
}

bool writeFigure(const QString& path, const FigureSpec& spec, const FigureContent& content, QString* error) {
    auto fail = [&](const QString& problem) {
        if (error) *error = path + ": " + problem;
        return false;
    };
    if (!spec.problem().isEmpty()) return fail(spec.problem());
    if (!content.document || !content.document->hasVolume()) return fail("no volume to make a figure of (open one first)");
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != "png" && suffix != "svg" && suffix != "pdf") return fail("a figure is written as .png, .svg or .pdf");
    const Layout l = layoutOf(spec, content);
    const QSize pixels = pixelSizeOf(l, spec.dpi);
    if (static_cast<double>(pixels.width()) * pixels.height() > kMaxPixels)
        return fail(QString("%1 × %2 pixels is too large a figure; lower the DPI or the width").arg(pixels.width()).arg(pixels.height()));

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return fail("cannot be written (" + file.errorString() + ")");
    if (suffix == "png") {
        QImage image(pixels, QImage::Format_RGB32);
        if (image.isNull()) return fail("not enough memory for the figure's pixels");
        const int dotsPerMetre = static_cast<int>(std::lround(spec.dpi / kMmPerInch * 1000));
        image.setDotsPerMeterX(dotsPerMetre);
        image.setDotsPerMeterY(dotsPerMetre);
        {
            QPainter painter(&image);
            paintFigure(painter, l, spec, content);
        }
        if (!image.save(&file, "PNG")) return fail("cannot be written as PNG");
    } else if (suffix == "svg") {
        QSvgGenerator svg;
        svg.setOutputDevice(&file);
        svg.setSize(pixels);
        svg.setViewBox(QRect(QPoint(0, 0), pixels));
        svg.setResolution(static_cast<int>(std::lround(spec.dpi)));
        svg.setTitle("SoulDiffuser Studio figure");
        QPainter painter(&svg);
        paintFigure(painter, l, spec, content);
    } else {
        QPdfWriter pdf(&file);
        pdf.setResolution(static_cast<int>(std::lround(spec.dpi)));
        pdf.setCreator("SoulDiffuser Studio");
        const double heightMm = l.height / kLogicalDpi * kMmPerInch;
        pdf.setPageLayout(QPageLayout(QPageSize(QSizeF(spec.widthMm, heightMm), QPageSize::Millimeter), QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
        QPainter painter(&pdf);
        paintFigure(painter, l, spec, content);
    }
    if (!file.commit()) return fail("cannot be written (" + file.errorString() + ")");
    return true;
}

}  // namespace soului
