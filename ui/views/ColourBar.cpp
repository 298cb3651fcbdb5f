#include "ColourBar.h"

#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace soului {
namespace {

// The numbers' smallest font, still legible on screen and at 300 DPI.
constexpr int kMinNumberPixels = 7;

QString number(double v) {
    if (std::abs(v) < 1e-9) return "0";
    if (std::abs(v) >= 100 && std::abs(v) < 1e6) return QString::number(v, 'f', 0);   // no exponent in the strip
    return QString::number(v, 'g', 3);
}

}  // namespace

double colourBarStripWidth(double viewHeight) { return std::clamp(viewHeight / 7.0, 54.0, 80.0); }

void paintColourBar(QPainter& painter, const QRectF& strip, const ColourBarSpec& spec, double titleReach) {
    painter.save();
    QFont font = painter.font();
    font.setBold(false);
    font.setPixelSize(static_cast<int>(std::clamp(strip.height() / 30.0, 9.0, 13.0)));
    // The title sits above the bar, the numbers to its left inside the strip: a smaller font where
    // they would not fit (−0.00165 in a narrow strip).
    const double barWidth = std::max(8.0, strip.width() * 0.22);
    const double numbersWidth = strip.width() - barWidth - 8;
    const double widest = std::max(QFontMetricsF(font).horizontalAdvance(number(spec.low)), QFontMetricsF(font).horizontalAdvance(number(spec.high)));
    if (widest > numbersWidth && numbersWidth > 0)
        font.setPixelSize(std::max(kMinNumberPixels, static_cast<int>(font.pixelSize() * numbersWidth / widest)));
    painter.setFont(font);
    const QFontMetricsF metrics(font);
    const double top = strip.top() + metrics.height() * 1.8, bottom = strip.bottom() - metrics.height();
    const QRectF bar(strip.right() - barWidth - 4, top, barWidth, std::max(10.0, bottom - top));
    for (int y = 0; y < static_cast<int>(bar.height()); ++y) {
        const double t = 1.0 - (y + 0.5) / bar.height();
        const auto& c = spec.colormap[static_cast<size_t>(std::clamp(t, 0.0, 1.0) * 255.0 + 0.5)];
        painter.fillRect(QRectF(bar.left(), bar.top() + y, bar.width(), 1.0), QColor(c[0], c[1], c[2]));
    }
    painter.setPen(QColor(220, 220, 220));
    painter.drawRect(bar);
    const double span = spec.high > spec.low ? spec.high - spec.low : 1.0;
    auto yOf = [&](double v) { return bar.bottom() - (v - spec.low) / span * bar.height(); };
    auto label = [&](double v) {
        const double y = yOf(v);
        painter.drawLine(QPointF(bar.left() - 3, y), QPointF(bar.left(), y));
        const QRectF box(strip.left(), y - metrics.height() / 2, bar.left() - 4 - strip.left(), metrics.height());
        painter.drawText(box, Qt::AlignRight | Qt::AlignVCenter, number(v));
    };
    label(spec.high);
    label(spec.low);
    if (spec.low < 0 && spec.high > 0 && yOf(0) - yOf(spec.high) > metrics.height() && yOf(spec.low) - yOf(0) > metrics.height())
        label(0);
    // Thresholds: a white tick across the bar; what lies between them is not drawn in the views.
    painter.setPen(QPen(QColor(255, 255, 255), 2));
    for (double t : {spec.threshold, spec.negativeThreshold})
        if (t > spec.low && t < spec.high) painter.drawLine(QPointF(bar.left(), yOf(t)), QPointF(bar.right(), yOf(t)));
    painter.setPen(QColor(220, 220, 220));
    // One line, right-aligned over the bar, reaching into the view when the name is long.
    const QRectF titleBox(strip.right() - strip.width() * titleReach, strip.top(), strip.width() * titleReach - 2, metrics.height());
    painter.drawText(titleBox, Qt::AlignRight | Qt::AlignTop, metrics.elidedText(spec.title, Qt::ElideMiddle, titleBox.width()));
    painter.restore();
}

void paintColourBars(QPainter& painter, const QRectF& area, const std::vector<ColourBarSpec>& specs) {
    if (specs.empty()) return;
    if (specs.size() == 1) {
        paintColourBar(painter, area, specs[0]);
        return;
    }
    // Side by side, each titled within its own strip by its unit (or name).
    const double w = area.width() / static_cast<double>(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
        ColourBarSpec spec = specs[i];
        if (!spec.shortTitle.isEmpty()) spec.title = spec.shortTitle;
        paintColourBar(painter, QRectF(area.left() + w * static_cast<double>(i), area.top(), w, area.height()), spec, 1.0);
    }
}

}  // namespace soului
