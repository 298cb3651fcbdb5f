#include "StudioSession.h"

#include "soul/error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <cmath>
#include <set>

namespace soului {
namespace {

constexpr const char* kFormat = "souldiffuser-studio-session";
// A session is a few kilobytes; anything far larger is not one (and is not read into memory).
constexpr qint64 kMaxSessionBytes = 1 << 20;
// More overlays than anyone reads in one view; a list longer than this is not a session's.
constexpr qsizetype kMaxOverlays = 64;

// Reads one JSON object with its key path for messages, refusing keys it does not know.
class Fields {
public:
    Fields(const QString& file, const QJsonObject& object, QString prefix) : m_file(file), m_object(object), m_prefix(std::move(prefix)) {}

    [[noreturn]] void fail(const QString& key, const QString& problem) const {
        throw soul::Error(m_file.toStdString(), (m_prefix + key + ": " + problem).toStdString());
    }
    void allowOnly(std::initializer_list<const char*> keys) const {
        std::set<QString> known;
        for (const char* k : keys) known.insert(k);
        for (auto it = m_object.begin(); it != m_object.end(); ++it)
            if (!known.count(it.key())) fail(it.key(), "is not a session key (misspelt?)");
    }
    bool has(const char* key) const { return m_object.contains(key) && !m_object.value(key).isNull(); }
    QJsonValue value(const char* key) const { return m_object.value(key); }
    Fields object(const char* key) const {
        if (!m_object.value(key).isObject()) fail(key, "must be an object");
        return Fields(m_file, m_object.value(key).toObject(), m_prefix + key + ".");
    }
    QString text(const char* key, const QString& otherwise = {}) const {
        if (!has(key)) return otherwise;
        if (!m_object.value(key).isString()) fail(key, "must be text");
        return m_object.value(key).toString();
    }
    double number(const char* key, double otherwise, double low = -1e30, double high = 1e30) const {
        if (!has(key)) return otherwise;
        const QJsonValue v = m_object.value(key);
        if (!v.isDouble() || !std::isfinite(v.toDouble())) fail(key, "must be a number");
        if (v.toDouble() < low || v.toDouble() > high) fail(key, QString("must be in [%1, %2], not %3").arg(low).arg(high).arg(v.toDouble()));
        return v.toDouble();
    }
    int64_t integer(const char* key, int64_t otherwise, int64_t low, int64_t high) const {
        const double v = number(key, static_cast<double>(otherwise), static_cast<double>(low), static_cast<double>(high));
        if (v != std::floor(v)) fail(key, "must be a whole number");
        return static_cast<int64_t>(v);
    }
    bool flag(const char* key, bool otherwise) const {
        if (!has(key)) return otherwise;
        if (!m_object.value(key).isBool()) fail(key, "must be true or false");
        return m_object.value(key).toBool();
    }
    std::vector<double> numbers(const char* key, size_t count) const {
        const QJsonValue v = m_object.value(key);
        if (!v.isArray() || static_cast<size_t>(v.toArray().size()) != count)
            fail(key, QString("must be a list of %1 numbers").arg(count));
        std::vector<double> out;
        for (const QJsonValue& e : v.toArray()) {
            if (!e.isDouble() || !std::isfinite(e.toDouble())) fail(key, QString("must be a list of %1 numbers").arg(count));
            out.push_back(e.toDouble());
        }
        return out;
    }
    QJsonArray array(const char* key) const {
        if (!m_object.value(key).isArray()) fail(key, "must be a list");
        return m_object.value(key).toArray();
    }

private:
    QString m_file;
    QJsonObject m_object;
    QString m_prefix;
};

// A colour layer's display, as keys of its object (thresholds absent when off).
void writeDisplay(const LayerDisplay& d, QJsonObject& into) {
    into["colormap"] = d.colormap;
    into["windowLow"] = d.windowLow;
    into["windowHigh"] = d.windowHigh;
    if (d.thresholdOn()) into["threshold"] = d.threshold;
    if (d.negativeThresholdOn()) into["negativeThreshold"] = d.negativeThreshold;
    into["opacity"] = d.opacity;
    if (!d.unit.isEmpty()) into["unit"] = d.unit;
}

LayerDisplay readDisplay(const Fields& layer) {
    LayerDisplay d;
    d.colormap = layer.text("colormap", "grey");
    d.windowLow = layer.number("windowLow", 0);
    d.windowHigh = layer.number("windowHigh", 1);
    if (d.windowHigh <= d.windowLow) layer.fail("windowHigh", "must be above windowLow");
    if (layer.has("threshold")) d.threshold = layer.number("threshold", 0, -kThresholdOff, kThresholdOff);
    if (layer.has("negativeThreshold")) d.negativeThreshold = layer.number("negativeThreshold", 0, -kThresholdOff, kThresholdOff);
    d.opacity = layer.number("opacity", 1, 0, 1);
    d.unit = layer.text("unit");
    return d;
}

QJsonArray toArray(const double* values, size_t count) {
    QJsonArray a;
    for (size_t i = 0; i < count; ++i) a.append(values[i]);
    return a;
}

// Paths under the session's folder are written relative to it.
QString relativeTo(const QDir& folder, const QString& path) {
    if (path.isEmpty()) return path;
    const QString relative = folder.relativeFilePath(QFileInfo(path).absoluteFilePath());
    return relative.startsWith("..") ? QFileInfo(path).absoluteFilePath() : relative;
}

QString resolvedFrom(const QDir& folder, const QString& path) {
    if (path.isEmpty() || QFileInfo(path).isAbsolute()) return path;
    return QDir::cleanPath(folder.absoluteFilePath(path));
}

}  // namespace

QStringList StudioSession::missingFiles() const {
    QStringList missing;
    QStringList paths{volumePath, underlayPath, labelsPath, modelRun, modelData};
    for (const SessionOverlay& o : overlays) paths << o.path;
    for (const QString& path : paths)
        if (!path.isEmpty() && !QFileInfo::exists(path)) missing << path;
    return missing;
}

void saveSession(const StudioSession& s, const QString& path) {
    const QDir folder = QFileInfo(path).absoluteDir();
    QJsonObject root;
    root["format"] = kFormat;
    root["version"] = StudioSession::kVersion;

    QJsonObject volume;
    if (!s.volumePath.isEmpty()) volume["path"] = relativeTo(folder, s.volumePath);
    volume["frame"] = s.frame;
    writeDisplay(s.display, volume);
    root["volume"] = volume;
    if (!s.overlays.empty()) {
        QJsonArray overlays;
        for (const SessionOverlay& o : s.overlays) {
            QJsonObject overlay;
            overlay["path"] = relativeTo(folder, o.path);
            overlay["name"] = o.name;
            writeDisplay(o.display, overlay);
            overlay["visible"] = o.display.visible;
            overlays.append(overlay);
        }
        root["overlays"] = overlays;
    }
    if (s.selectedLayer != 0) root["selectedLayer"] = s.selectedLayer;

    if (!s.underlayPath.isEmpty()) {
        QJsonObject underlay;
        underlay["path"] = relativeTo(folder, s.underlayPath);
        underlay["visible"] = s.underlayVisible;
        if (s.underlayWindow) underlay["window"] = toArray(s.underlayWindow->data(), 2);
        root["underlay"] = underlay;
    }
    if (!s.labelsPath.isEmpty()) {
        QJsonObject labels;
        labels["path"] = relativeTo(folder, s.labelsPath);
        QJsonArray visible;
        for (int v : s.visibleLabels) visible.append(v);
        labels["visible"] = visible;
        QJsonObject opacity;
        for (const auto& [value, alpha] : s.labelOpacity) opacity[QString::number(value)] = alpha;
        labels["opacity"] = opacity;
        root["labels"] = labels;
    }
    if (s.cursor) {
        QJsonArray c;
        for (int64_t v : *s.cursor) c.append(static_cast<double>(v));
        root["cursor"] = c;
    }
    if (!s.modelRun.isEmpty()) {
        QJsonObject model;
        model["run"] = relativeTo(folder, s.modelRun);
        model["data"] = relativeTo(folder, s.modelData);
        if (s.trial) {
            model["trialSplit"] = QString::fromStdString(soul::split_name(s.trial->split));
            model["trialRow"] = static_cast<double>(s.trial->row);
        }
        QJsonObject sampler;
        sampler["steps"] = static_cast<double>(s.sampler.steps);
        sampler["guidance"] = s.sampler.cfg;
        sampler["strength"] = s.sampler.strength;
        sampler["colourWeight"] = s.sampler.w_color;
        sampler["edgeWeight"] = s.sampler.w_edge;
        sampler["seed"] = static_cast<double>(s.sampler.seed);
        sampler["samples"] = static_cast<double>(s.sampler.samples);
        model["sampler"] = sampler;
        QJsonArray off;
        for (const std::string& g : s.streamsOff) off.append(QString::fromStdString(g));
        model["streamsOff"] = off;
        root["model"] = model;
    }
    QJsonObject views;
    views["neurological"] = s.neurological;
    views["colourBars"] = s.colourBars;
    views["volumeRendering"] = s.volumeRendering;
    views["surfaceActivity"] = s.surfaceActivity;
    views["glassBrain"] = s.glassBrain;
    views["interpolation"] = s.interpolation;
    if (s.camera) {
        QJsonObject camera;
        camera["position"] = toArray(s.camera->position.data(), 3);
        camera["focalPoint"] = toArray(s.camera->focalPoint.data(), 3);
        camera["viewUp"] = toArray(s.camera->viewUp.data(), 3);
        camera["viewAngle"] = s.camera->viewAngle;
        views["camera"] = camera;
    }
    if (!s.tab.isEmpty()) views["tab"] = s.tab;
    root["views"] = views;
    if (s.figure) {
        QJsonObject figure;
        figure["widthMm"] = s.figure->widthMm;
        figure["dpi"] = s.figure->dpi;
        figure["orientation"] = s.figure->orientation;
        figure["slices"] = s.figure->slices;
        figure["columns"] = s.figure->columns;
        figure["threeD"] = s.figure->threeD;
        figure["reconstruction"] = s.figure->reconstruction;
        root["figure"] = figure;
    }

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(root).toJson()) < 0 || !file.commit())
        throw soul::Error(path.toStdString(), "could not be written (" + file.errorString().toStdString() + ")");
}

StudioSession loadSession(const QString& path) {
    const std::string where = path.toStdString();
    QFile file(path);
    if (!file.exists()) throw soul::Error(where, "does not exist");
    if (file.size() > kMaxSessionBytes)
        throw soul::Error(where, QString("is %1 bytes; a session file is a few kilobytes (is this the right file?)").arg(file.size()).toStdString());
    if (!file.open(QIODevice::ReadOnly)) throw soul::Error(where, "could not be opened (" + file.errorString().toStdString() + ")");
    QJsonParseError parseError;
    const QJsonDocument json = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError)
        throw soul::Error(where, QString("is not valid JSON at byte %1: %2").arg(parseError.offset).arg(parseError.errorString()).toStdString());
    if (!json.isObject()) throw soul::Error(where, "is not a session file (its top level is not a JSON object)");
    const Fields root(path, json.object(), "");
    if (root.text("format") != kFormat) root.fail("format", QString("must be \"%1\" (is this a session file?)").arg(kFormat));
    root.allowOnly({"format", "version", "volume", "overlays", "selectedLayer", "underlay", "labels", "cursor", "model", "views", "figure"});
    if (root.integer("version", 0, 1, StudioSession::kVersion) != StudioSession::kVersion)
        root.fail("version", QString("must be %1").arg(StudioSession::kVersion));
    const QDir folder = QFileInfo(path).absoluteDir();

    StudioSession s;
    const Fields volume = root.object("volume");
    volume.allowOnly({"path", "frame", "colormap", "windowLow", "windowHigh", "threshold", "negativeThreshold", "opacity", "unit"});
    s.volumePath = resolvedFrom(folder, volume.text("path"));
    s.frame = static_cast<int>(volume.integer("frame", 0, 0, 1 << 20));
    s.display = readDisplay(volume);
    if (root.has("overlays")) {
        const QJsonArray overlays = root.array("overlays");
        if (overlays.size() > kMaxOverlays) root.fail("overlays", QString("must list at most %1 overlays").arg(kMaxOverlays));
        for (qsizetype i = 0; i < overlays.size(); ++i) {
            const QString key = QString("overlays[%1]").arg(i);
            if (!overlays[i].isObject()) root.fail(qPrintable(key), "must be an object");
            const Fields overlay(path, overlays[i].toObject(), key + ".");
            overlay.allowOnly({"path", "name", "colormap", "windowLow", "windowHigh", "threshold", "negativeThreshold", "opacity", "unit", "visible"});
            SessionOverlay o;
            o.path = resolvedFrom(folder, overlay.text("path"));
            if (o.path.isEmpty()) overlay.fail("path", "is missing");
            o.name = overlay.text("name", QFileInfo(o.path).fileName());
            o.display = readDisplay(overlay);
            o.display.visible = overlay.flag("visible", true);
            s.overlays.push_back(o);
        }
    }
    s.selectedLayer = static_cast<int>(root.integer("selectedLayer", 0, 0, static_cast<int64_t>(s.overlays.size())));

    if (root.has("underlay")) {
        const Fields underlay = root.object("underlay");
        underlay.allowOnly({"path", "visible", "window"});
        s.underlayPath = resolvedFrom(folder, underlay.text("path"));
        if (s.underlayPath.isEmpty()) underlay.fail("path", "is missing");
        s.underlayVisible = underlay.flag("visible", true);
        if (underlay.has("window")) {
            const auto w = underlay.numbers("window", 2);
            if (w[1] <= w[0]) underlay.fail("window", "must be [low, high] with high above low");
            s.underlayWindow = std::array<double, 2>{w[0], w[1]};
        }
    }
    if (root.has("labels")) {
        const Fields labels = root.object("labels");
        labels.allowOnly({"path", "visible", "opacity"});
        s.labelsPath = resolvedFrom(folder, labels.text("path"));
        if (s.labelsPath.isEmpty()) labels.fail("path", "is missing");
        if (labels.has("visible"))
            for (const QJsonValue& v : labels.array("visible")) {
                if (!v.isDouble() || v.toDouble() != std::floor(v.toDouble()) || v.toDouble() < 1 || v.toDouble() > 1e6)
                    labels.fail("visible", "must be a list of label values (whole numbers from 1)");
                s.visibleLabels.push_back(static_cast<int>(v.toDouble()));
            }
        if (labels.has("opacity")) {
            const Fields opacity = labels.object("opacity");
            for (const QString& key : labels.value("opacity").toObject().keys()) {
                bool ok = false;
                const int value = key.toInt(&ok);
                if (!ok || value < 1) labels.fail("opacity", QString("key \"%1\" is not a label value").arg(key));
                s.labelOpacity[value] = opacity.number(qPrintable(key), 1, 0, 1);
            }
        }
    }
    if (root.has("cursor")) {
        const auto c = root.numbers("cursor", 3);
        std::array<int64_t, 3> voxel{};
        for (int i = 0; i < 3; ++i) {
            if (c[i] < 0 || c[i] != std::floor(c[i])) root.fail("cursor", "must be three voxel indices (whole numbers from 0)");
            voxel[i] = static_cast<int64_t>(c[i]);
        }
        s.cursor = voxel;
    }
    if (root.has("model")) {
        const Fields model = root.object("model");
        model.allowOnly({"run", "data", "trialSplit", "trialRow", "sampler", "streamsOff"});
        s.modelRun = resolvedFrom(folder, model.text("run"));
        s.modelData = resolvedFrom(folder, model.text("data"));
        if (s.modelRun.isEmpty() || s.modelData.isEmpty()) model.fail(s.modelRun.isEmpty() ? "run" : "data", "is missing");
        if (model.has("trialSplit") || model.has("trialRow")) {
            const QString split = model.text("trialSplit");
            if (split != "test" && split != "train") model.fail("trialSplit", "must be \"test\" or \"train\"");
            soul::TrialRef trial;
            trial.split = split == "test" ? soul::Split::Test : soul::Split::Train;
            trial.row = model.integer("trialRow", -1, 0, 1 << 30);
            if (!model.has("trialRow")) model.fail("trialRow", "is missing");
            s.trial = trial;
        }
        if (model.has("sampler")) {
            const Fields sampler = model.object("sampler");
            sampler.allowOnly({"steps", "guidance", "strength", "colourWeight", "edgeWeight", "seed", "samples"});
            namespace bounds = soul::sampler_bounds;
            s.sampler.steps = sampler.integer("steps", s.sampler.steps, 1, bounds::kMaxSteps);
            s.sampler.cfg = sampler.number("guidance", s.sampler.cfg, 0, bounds::kMaxGuidance);
            s.sampler.strength = sampler.number("strength", s.sampler.strength, 0, 1);
            s.sampler.w_color = sampler.number("colourWeight", s.sampler.w_color, 0, bounds::kMaxAdapterWeight);
            s.sampler.w_edge = sampler.number("edgeWeight", s.sampler.w_edge, 0, bounds::kMaxAdapterWeight);
            s.sampler.seed = static_cast<uint64_t>(sampler.integer("seed", static_cast<int64_t>(s.sampler.seed), 0, static_cast<int64_t>(bounds::kMaxSeed)));
            s.sampler.samples = sampler.integer("samples", s.sampler.samples, 1, bounds::kMaxSamples);
        }
        if (model.has("streamsOff"))
            for (const QJsonValue& v : model.array("streamsOff")) {
                if (!v.isString()) model.fail("streamsOff", "must be a list of stream group names");
                s.streamsOff.push_back(v.toString().toStdString());
            }
    }
    if (root.has("views")) {
        const Fields views = root.object("views");
        views.allowOnly({"neurological", "colourBars", "volumeRendering", "surfaceActivity", "glassBrain", "interpolation", "camera", "tab"});
        s.neurological = views.flag("neurological", false);
        s.colourBars = views.flag("colourBars", true);
        s.volumeRendering = views.flag("volumeRendering", true);
        s.surfaceActivity = views.flag("surfaceActivity", true);
        s.glassBrain = views.flag("glassBrain", false);
        s.interpolation = views.flag("interpolation", false);
        s.tab = views.text("tab");
        if (!s.tab.isEmpty() && s.tab != "reconstruction" && s.tab != "training")
            views.fail("tab", "must be \"reconstruction\" or \"training\"");
        if (views.has("camera")) {
            const Fields camera = views.object("camera");
            camera.allowOnly({"position", "focalPoint", "viewUp", "viewAngle"});
            CameraPose pose;
            const auto p = camera.numbers("position", 3), f = camera.numbers("focalPoint", 3), u = camera.numbers("viewUp", 3);
            std::copy(p.begin(), p.end(), pose.position.begin());
            std::copy(f.begin(), f.end(), pose.focalPoint.begin());
            std::copy(u.begin(), u.end(), pose.viewUp.begin());
            pose.viewAngle = camera.number("viewAngle", 30, 1, 179);
            if (pose.position == pose.focalPoint) camera.fail("position", "must differ from focalPoint");
            s.camera = pose;
        }
    }
    if (root.has("figure")) {
        const Fields figure = root.object("figure");
        figure.allowOnly({"widthMm", "dpi", "orientation", "slices", "columns", "threeD", "reconstruction"});
        FigureSpec f;
        f.widthMm = figure.number("widthMm", f.widthMm, FigureSpec::kMinWidthMm, FigureSpec::kMaxWidthMm);
        f.dpi = figure.number("dpi", f.dpi, FigureSpec::kMinDpi, FigureSpec::kMaxDpi);
        f.orientation = figure.text("orientation", f.orientation);
        f.slices = static_cast<int>(figure.integer("slices", f.slices, 1, FigureSpec::kMaxSlices));
        f.columns = static_cast<int>(figure.integer("columns", f.columns, 1, FigureSpec::kMaxSlices));
        f.threeD = figure.flag("threeD", f.threeD);
        f.reconstruction = figure.flag("reconstruction", f.reconstruction);
        const QString problem = f.problem();
        if (!problem.isEmpty()) figure.fail(problem.section(": ", 0, 0), problem.section(": ", 1));
        s.figure = f;
    }
    if (s.volumePath.isEmpty() && !s.trial) volume.fail("path", "is missing (and no model.trialRow names a trial's betas)");
    return s;
}

QString FigureSpec::problem() const {
    auto range = [](const char* key, double v, double low, double high) {
        return QString("%1: must be in [%2, %3], not %4").arg(key).arg(low).arg(high).arg(v);
    };
    if (!(widthMm >= kMinWidthMm && widthMm <= kMaxWidthMm)) return range("widthMm", widthMm, kMinWidthMm, kMaxWidthMm);
    if (!(dpi >= kMinDpi && dpi <= kMaxDpi)) return range("dpi", dpi, kMinDpi, kMaxDpi);
    if (orientation != "axial" && orientation != "coronal" && orientation != "sagittal")
        return QString("orientation: must be axial, coronal or sagittal, not \"%1\"").arg(orientation);
    if (slices < 1 || slices > kMaxSlices) return range("slices", slices, 1, kMaxSlices);
    if (columns < 1 || columns > slices) return range("columns", columns, 1, slices);
    return {};
}

}  // namespace soului
