// Colour maps, read from the data files in resources/colormaps (":/soul/colormaps/NAME.txt").
#pragma once

#include <QString>
#include <QStringList>

#include <array>
#include <cstdint>

namespace soului {

using ColormapTable = std::array<std::array<uint8_t, 3>, 256>;

// Registers the studio's compiled-in resources (colour maps, the icon). They live in this static
// library, whose resource object the linker drops unless something refers to it: call once before
// reading ":/soul/..." (colormap() does).
void registerResources();

QStringList colormapNames();
// The 256-entry table of `name`; grey if it is unknown.
ColormapTable colormap(const QString& name);

}  // namespace soului
