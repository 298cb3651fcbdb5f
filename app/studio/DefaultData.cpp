#include "DefaultData.h"

#include <QDir>
#include <QFile>
#include <QTextStream>

#include "soul/nsd_layout.h"

QString defaultPhantomDir() {
    const QString dir = qEnvironmentVariable("SOUL_PHANTOM_DIR");
    if (!dir.isEmpty()) return dir;
    const QString data = qEnvironmentVariable("XDG_DATA_HOME", QDir::homePath() + "/.local/share");
    return data + "/souldiffuser/phantom";
}

QString defaultModelDir() {
    const QString dir = qEnvironmentVariable("SOUL_MODEL_DIR");
    return dir.isEmpty() ? QStringLiteral(SOUL_SOURCE_DIR "/models/phantom-small") : dir;
}

QString defaultPreparedDir() {
    const QString dir = qEnvironmentVariable("SOUL_PREPARED_DIR");
    return dir.isEmpty() ? defaultPhantomDir() + "-prepared-64" : dir;
}

DefaultData defaultData() {
    DefaultData d;
    const QDir phantom(defaultPhantomDir());
    if (QFile::exists(phantom.filePath(QString::fromStdString(soul::nsd::stimuli_file())))) {
        d.phantom = true;
        if (QFile::exists(defaultModelDir() + "/run.json") && QFile::exists(defaultPreparedDir() + "/manifest.json")) {
            d.model = defaultModelDir();
            d.prepared = defaultPreparedDir();
        }
        d.volume = phantom.filePath(QString::fromStdString(soul::nsd::betas_file(1, 1)));
        d.labels = phantom.filePath(QString::fromStdString(soul::nsd::roi_file(1, "streams")));
        return d;
    }
    QString dir = qEnvironmentVariable("SOUL_MRICRON_DIR", "/usr/share/mricron/templates");
    d.volume = QDir(dir).filePath("ch2bet.nii.gz");
    d.labels = QDir(dir).filePath("aal.nii.gz");
    if (!QFile::exists(d.volume) || !QFile::exists(d.labels)) {
        d.missing = QString("the default brain (%1) is missing: install Debian's mricron-data "
                            "(tools/setup.sh does) or set SOUL_MRICRON_DIR")
                        .arg(d.volume);
        return d;
    }
    // The visual streams in AAL terms (design.md 4.2): calcarine, cuneus, lingual, occipital,
    // fusiform, inferior temporal, superior/inferior parietal, precuneus.
    static const QStringList visual = {"Calcarine", "Cuneus", "Lingual", "Occipital_Sup", "Occipital_Mid",
                                       "Occipital_Inf", "Fusiform", "Temporal_Inf", "Parietal_Sup",
                                       "Parietal_Inf", "Precuneus"};
    QFile names(d.labels.left(d.labels.size() - 3) + ".txt");  // aal.nii.txt
    if (names.open(QIODevice::ReadOnly | QIODevice::Text)) {
        QTextStream in(&names);
        while (!in.atEnd()) {
            const QStringList f = in.readLine().split(' ', Qt::SkipEmptyParts);
            if (f.size() < 2) continue;
            for (const QString& v : visual)
                if (f[1].startsWith(v + "_")) d.visibleLabels << f[0].toInt();
        }
    }
    return d;
}
