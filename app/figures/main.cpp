// souldiffuser-figures — figures made by the project for its docs and papers, headless.
//   souldiffuser-figures phantom ROOT OUT.png   the phantom: stimuli with captions, one trial's
//                                                beta map, the ground-truth pRF maps, the streams.
#include "Colormap.h"
#include "SliceGeometry.h"
#include "soul/error.h"
#include "soul/formats.h"
#include "soul/labels.h"
#include "soul/nsd_layout.h"
#include "soul/phantom.h"
#include "soul/phantom_layout.h"
#include "soul/volume.h"

#include <QFont>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>

#include <cmath>
#include <cstdio>
#include <filesystem>

namespace {

using soului::SliceAxes;

std::string at(const std::string& root, const std::string& relative) { return (std::filesystem::path(root) / relative).string(); }

// A slice as an image: `pixel(voxel)` gives each pixel's colour.
template <typename PixelFn>
QImage slice(const soul::Volume& grid, soului::SliceOrientation orientation, const std::array<int64_t, 3>& cursor, PixelFn pixel) {
    const SliceAxes axes = soului::sliceAxes(grid.ijk_to_ras, orientation);
    const int w = static_cast<int>(grid.dims[axes.horizontal]), h = static_cast<int>(grid.dims[axes.vertical]);
    QImage image(w, h, QImage::Format_RGB32);
    for (int row = 0; row < h; ++row)
        for (int col = 0; col < w; ++col) image.setPixel(col, row, pixel(soului::voxelAt(axes, grid.dims, cursor, col, row)));
    return image;
}

QRgb grey(float value, float high) {
    const int g = static_cast<int>(std::clamp(value / high, 0.0f, 1.0f) * 200);
    return qRgb(g, g, g);
}

void panel(QPainter& p, const QRect& area, const QImage& image, const QString& title, const SliceAxes& axes) {
    QFont font = p.font();
    font.setPixelSize(17);
    font.setBold(true);
    p.setFont(font);
    p.setPen(Qt::black);
    p.drawText(QRect(area.x(), area.y(), area.width(), 24), Qt::AlignLeft, title);
    const QRect box(area.x(), area.y() + 28, area.width(), area.height() - 28);
    const QSize scaled = image.size().scaled(box.size(), Qt::KeepAspectRatio);
    const QRect target(box.x() + (box.width() - scaled.width()) / 2, box.y() + (box.height() - scaled.height()) / 2, scaled.width(), scaled.height());
    p.drawImage(target, image.scaled(scaled, Qt::IgnoreAspectRatio, Qt::FastTransformation));
    font.setPixelSize(14);
    p.setFont(font);
    p.setPen(QColor(230, 170, 30));
    p.drawText(target.adjusted(4, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter, QString::fromStdString(axes.left));
    p.drawText(target.adjusted(0, 0, -4, 0), Qt::AlignRight | Qt::AlignVCenter, QString::fromStdString(axes.right));
    p.drawText(target.adjusted(0, 2, 0, 0), Qt::AlignTop | Qt::AlignHCenter, QString::fromStdString(axes.top));
    p.drawText(target.adjusted(0, 0, 0, -2), Qt::AlignBottom | Qt::AlignHCenter, QString::fromStdString(axes.bottom));
}

int phantom_figure(const std::string& root, const QString& out) {
    const soul::Volume t1 = soul::read_nifti(at(root, soul::nsd::t1_file(1)));
    const soul::Volume streams = soul::read_nifti(at(root, soul::nsd::roi_file(1, "streams")));
    const soul::Volume beta = soul::read_nifti_frame(at(root, soul::nsd::betas_file(1, 1)), 0);
    const soul::Volume prf_x = soul::read_nifti(soul::phantom_layout::ground_truth(root, soul::phantom_layout::kPrfX));
    const soul::Volume prf_y = soul::read_nifti(soul::phantom_layout::ground_truth(root, soul::phantom_layout::kPrfY));
    const soul::LabelTable table = soul::nsd_streams_table();
    const float t1_high = soul::value_range(t1)[1];

    // The sagittal plane through the left hemisphere with the most early visual voxels.
    int64_t best_i = 0, best = -1;
    for (int64_t i = 0; i < streams.dims[0]; ++i) {
        if (streams.ijk_to_ras.apply(static_cast<double>(i), 0, 0)[0] > -4) continue;
        int64_t count = 0;
        for (int64_t k = 0; k < streams.dims[2]; ++k)
            for (int64_t j = 0; j < streams.dims[1]; ++j) count += streams.at(i, j, k) == soul::nsd::kEarly;
        if (count > best) {
            best = count;
            best_i = i;
        }
    }
    const std::array<int64_t, 3> cursor{best_i, streams.dims[1] / 2, streams.dims[2] / 2};
    const auto orientation = soului::SliceOrientation::Sagittal;
    const SliceAxes axes = soului::sliceAxes(streams.ijk_to_ras, orientation);
    const auto coolwarm = soului::colormap("coolwarm");
    const auto inside = [&](const std::array<int64_t, 3>& v) { return streams.at(v[0], v[1], v[2]) > 0; };

    const QImage streams_image = slice(streams, orientation, cursor, [&](const std::array<int64_t, 3>& v) {
        const int s = static_cast<int>(streams.at(v[0], v[1], v[2]));
        if (s <= 0) return grey(t1.at(v[0], v[1], v[2]), t1_high);
        const auto c = table.colour_of(s);
        return qRgb(c[0], c[1], c[2]);
    });
    const QImage beta_image = slice(streams, orientation, cursor, [&](const std::array<int64_t, 3>& v) {
        if (!inside(v)) return grey(t1.at(v[0], v[1], v[2]), t1_high);
        const double percent = beta.at(v[0], v[1], v[2]) / 300.0;  // NSD's int16 scale
        const auto c = coolwarm[static_cast<size_t>(std::clamp((percent + 3) / 6, 0.0, 1.0) * 255)];
        return qRgb(c[0], c[1], c[2]);
    });
    const QImage angle_image = slice(streams, orientation, cursor, [&](const std::array<int64_t, 3>& v) {
        const float x = prf_x.at(v[0], v[1], v[2]), y = prf_y.at(v[0], v[1], v[2]);
        if (x == 0 && y == 0) return grey(t1.at(v[0], v[1], v[2]), t1_high);
        // Polar angle in the right hemifield: upper vertical meridian red, horizontal green, lower blue.
        const double angle = std::atan2(y, std::abs(x));  // −π/2 .. π/2
        return QColor::fromHsvF(std::clamp((0.5 - angle / M_PI) * 0.66, 0.0, 0.99), 0.9, 0.95).rgb();
    });
    const QImage ecc_image = slice(streams, orientation, cursor, [&](const std::array<int64_t, 3>& v) {
        const float x = prf_x.at(v[0], v[1], v[2]), y = prf_y.at(v[0], v[1], v[2]);
        if (x == 0 && y == 0) return grey(t1.at(v[0], v[1], v[2]), t1_high);
        const double ecc = std::sqrt(x * x + y * y);
        return QColor::fromHsvF(std::clamp(0.75 * ecc / 1.3, 0.0, 0.99), 0.9, 0.95).rgb();  // red fovea → violet periphery
    });

    const int width = 1600, height = 940;
    QImage figure(width, height, QImage::Format_RGB32);
    figure.fill(Qt::white);
    QPainter p(&figure);
    p.setRenderHint(QPainter::Antialiasing);
    QFont font = p.font();
    font.setPixelSize(22);
    font.setBold(true);
    p.setFont(font);
    p.drawText(QRect(20, 10, width - 40, 30), Qt::AlignLeft, "The phantom subject: stimuli, one trial's betas, ground-truth retinotopy, streams");

    // Stimuli with their first caption.
    const auto captions_train = soul::read_coco_captions(at(root, soul::nsd::coco_captions_file("train2017")));
    const auto captions_val = soul::read_coco_captions(at(root, soul::nsd::coco_captions_file("val2017")));
    const int tile = 180, gap = 17;
    for (int n = 0; n < 8; ++n) {
        const auto rgb = soul::read_image_brick(at(root, soul::nsd::stimuli_file()), n, 1);
        const int side = static_cast<int>(std::lround(std::sqrt(rgb.size() / 3.0)));
        QImage stimulus(rgb.data(), side, side, side * 3, QImage::Format_RGB888);
        const QRect r(20 + n * (tile + gap), 55, tile, tile);
        p.drawImage(r, stimulus.copy());
        const int64_t coco = 100000 + n;
        const auto& bank = captions_train.count(coco) ? captions_train : captions_val;
        font.setPixelSize(14);
        font.setBold(false);
        p.setFont(font);
        p.drawText(QRect(r.x(), r.bottom() + 6, tile, 60), Qt::AlignHCenter | Qt::TextWordWrap,
                   QString::fromStdString(bank.count(coco) ? bank.at(coco).front() : std::string()));
    }
    const int top = 330, panel_width = 380, panel_height = 560;
    panel(p, QRect(20, top, panel_width, panel_height), streams_image, "Streams (NSD codes)", axes);
    panel(p, QRect(20 + panel_width + 10, top, panel_width, panel_height), beta_image, "Trial 1 betas, −3…+3 % (session 1)", axes);
    panel(p, QRect(20 + 2 * (panel_width + 10), top, panel_width, panel_height), angle_image, "pRF polar angle (red up, blue down)", axes);
    panel(p, QRect(20 + 3 * (panel_width + 10), top, panel_width, panel_height), ecc_image, "pRF eccentricity (red fovea)", axes);
    font.setPixelSize(14);
    p.setFont(font);
    p.setPen(Qt::black);
    const double x_mm = streams.ijk_to_ras.apply(static_cast<double>(best_i), 0, 0)[0];
    p.drawText(QRect(20, height - 30, width - 40, 24), Qt::AlignLeft,
               QString("Sagittal slice at x = %1 mm (left hemisphere; the right visual field). Generated by souldiffuser-figures phantom.").arg(x_mm, 0, 'f', 1));
    p.end();
    if (!figure.save(out)) {
        std::fprintf(stderr, "souldiffuser-figures: %s: could not be written\n", qPrintable(out));
        return 1;
    }
    std::printf("wrote %s\n", qPrintable(out));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");  // no window: images only
    QGuiApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 4 || args[1] != "phantom") {
        std::fprintf(stderr, "usage: souldiffuser-figures phantom PHANTOM_ROOT OUT.png\n");
        return 2;
    }
    try {
        return phantom_figure(args[2].toStdString(), args[3]);
    } catch (const soul::Error& e) {
        std::fprintf(stderr, "souldiffuser-figures: %s\n", e.what());
        return 1;
    }
}
