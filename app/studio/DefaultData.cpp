#include "DefaultData.h"

#include <QDir>
#include <QFile>
#include <QTextStream>

#include "soul/data_paths.h"
#include "soul/default_subject.h"
#include "soul/nsd_layout.h"

QString defaultPhantomDir() { return QString::fromStdString(soul::default_subject().phantom); }

QString defaultModelDir() { return QString::fromStdString(soul::shipped_model().path); }

QString defaultPreparedDir() { return QString::fromStdString(soul::default_subject().prepared); }

QString defaultTrainingConfig() { return QString::fromStdString(soul::training_config("phantom-small").path); }

bool defaultSubjectMade() {
    const soul::DefaultSubject subject = soul::default_subject();
    return soul::phantom_complete(subject.phantom) && soul::prepared_complete(subject.prepared);
}

DefaultData defaultData() {
    DefaultData d;
    const QDir phantom(defaultPhantomDir());
    if (QFile::exists(phantom.filePath(QString::fromStdString(soul::nsd::stimuli_file())))) {
        d.phantom = true;
        if (!defaultModelDir().isEmpty() && QFile::exists(defaultModelDir() + "/run.json") &&
            QFile::exists(defaultPreparedDir() + "/manifest.json")) {
            d.model = defaultModelDir();
            d.prepared = defaultPreparedDir();
        }
        d.volume = phantom.filePath(QString::fromStdString(soul::nsd::betas_file(1, 1)));
        d.labels = phantom.filePath(QString::fromStdString(soul::nsd::roi_file(1, "streams")));
        const QString t1 = phantom.filePath(QString::fromStdString(soul::nsd::t1_file(1)));
        if (QFile::exists(t1)) d.underlay = t1;
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
