// Colour maps, read from the data files in resources/colormaps (":/soul/colormaps/NAME.txt").
#pragma once

#include <QString>
#include <QStringList>

#include <array>
#include <cstdint>

namespace soului {

using ColormapTable = std::array<std::array<uint8_t, 3>, 256>;

QStringList colormapNames();
// The 256-entry table of `name`; grey if it is unknown.
ColormapTable colormap(const QString& name);

}  // namespace soului
