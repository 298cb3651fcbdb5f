#include "Colormap.h"

#include <QFile>
#include <QTextStream>

#include <algorithm>
#include <vector>

// Q_INIT_RESOURCE must be used outside a namespace.
static void initSoulResources() { Q_INIT_RESOURCE(resources); }

namespace soului {

void registerResources() {
    static const bool registered = (initSoulResources(), true);
    Q_UNUSED(registered);
}

QStringList colormapNames() { return {"grey", "hot", "viridis", "coolwarm"}; }

ColormapTable colormap(const QString& name) {
    struct Point {
        double at;
        double rgb[3];
    };
    std::vector<Point> points;
    registerResources();
    QFile file(":/soul/colormaps/" + (colormapNames().contains(name) ? name : QString("grey")) + ".txt");
    if (file.open(QIODevice::ReadOnly | QIODevice::Text)) {
        QTextStream in(&file);
        while (!in.atEnd()) {
            const QString line = in.readLine().trimmed();
            if (line.isEmpty() || line.startsWith('#')) continue;
            const QStringList f = line.split(' ', Qt::SkipEmptyParts);
            if (f.size() == 4) points.push_back({f[0].toDouble(), {f[1].toDouble(), f[2].toDouble(), f[3].toDouble()}});
        }
    }
    if (points.size() < 2) points = {{0, {0, 0, 0}}, {1, {255, 255, 255}}};
    ColormapTable table{};
    for (int n = 0; n < 256; ++n) {
        const double x = n / 255.0;
        size_t hi = 1;
        while (hi + 1 < points.size() && points[hi].at < x) ++hi;
        const Point& a = points[hi - 1];
        const Point& b = points[hi];
        const double t = std::clamp((x - a.at) / std::max(1e-9, b.at - a.at), 0.0, 1.0);
        for (int c = 0; c < 3; ++c) table[n][c] = static_cast<uint8_t>(a.rgb[c] + (b.rgb[c] - a.rgb[c]) * t + 0.5);
    }
    return table;
}

}  // namespace soului
