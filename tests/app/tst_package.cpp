// The Debian package end to end (docs/install.md): cpack builds it, dpkg-deb unpacks it into a
// temporary root, and from there — another working directory, a clean environment, the source and
// build trees on no path the programs use — the installed programs find their data, the installed
// studio makes the default subject on first start and shows a reconstruction in its workbench, and
// the installed command line reconstructs the same trial. The package passes desktop-file-validate,
// appstreamcli and lintian (no errors).
#include <QtTest>

#include <QDirIterator>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>

#include <limits>

namespace {

struct Result {
    int code = -1;
    QString out;   // stdout and stderr together
};

Result runProgram(const QString& program, const QStringList& args, const QProcessEnvironment& env, const QString& workDir,
                  int timeoutSeconds) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.setProcessEnvironment(env);
    p.setWorkingDirectory(workDir);
    p.start(program, args);
    Result r;
    if (!p.waitForStarted(30000)) {
        r.out = program + ": did not start";
        return r;
    }
    if (!p.waitForFinished(timeoutSeconds * 1000)) {
        p.kill();
        p.waitForFinished();
        r.out = program + ": still running after " + QString::number(timeoutSeconds) + " s\n" + QString::fromLocal8Bit(p.readAll());
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromLocal8Bit(p.readAll());
    return r;
}

// The smallest mean absolute RGB difference (0–255) of `part`, shown at `shownSide` pixels, at any
// place in `whole`. Both are compared at a quarter of the shown size, which makes the search cheap
// and the scaling filter of the view irrelevant.
double bestMatch(const QImage& whole, const QImage& part, int shownSide) {
    constexpr int kShrink = 4;
    const QImage w = whole.convertToFormat(QImage::Format_RGB32)
                         .scaled(whole.width() / kShrink, whole.height() / kShrink, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    const QImage t = part.convertToFormat(QImage::Format_RGB32)
                         .scaled(shownSide, shownSide, Qt::IgnoreAspectRatio, Qt::SmoothTransformation)
                         .scaled(shownSide / kShrink, shownSide / kShrink, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    double best = std::numeric_limits<double>::max();
    for (int y = 0; y + t.height() <= w.height(); ++y)
        for (int x = 0; x + t.width() <= w.width(); ++x) {
            double sum = 0;
            for (int j = 0; j < t.height() && sum < best * t.width() * t.height() * 3; ++j) {
                const QRgb* a = reinterpret_cast<const QRgb*>(w.constScanLine(y + j)) + x;
                const QRgb* b = reinterpret_cast<const QRgb*>(t.constScanLine(j));
                for (int i = 0; i < t.width(); ++i)
                    sum += std::abs(qRed(a[i]) - qRed(b[i])) + std::abs(qGreen(a[i]) - qGreen(b[i])) + std::abs(qBlue(a[i]) - qBlue(b[i]));
            }
            best = std::min(best, sum / (t.width() * t.height() * 3));
        }
    return best;
}

}  // namespace

class TestPackage : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    QString m_deb, m_root;

    QString path(const QString& name) const { return m_tmp.filePath(name); }
    QString installed(const QString& relative) const { return m_root + "/usr/" + relative; }

    // What a user's session has: no SOUL_* variables, a home and data dir of its own, system paths.
    QProcessEnvironment userEnvironment(const QString& dataHome) const {
        QProcessEnvironment env;
        env.insert("PATH", "/usr/bin:/bin");
        env.insert("HOME", path("home"));
        env.insert("XDG_DATA_HOME", dataHome);
        env.insert("LANG", "C.UTF-8");
        return env;
    }

    Result studio(const QStringList& args, const QString& dataHome) const {
        return runProgram(XVFB_RUN, QStringList{"-a", "-s", "-screen 0 1600x1200x24", installed("bin/souldiffuser-studio")} + args,
                          userEnvironment(dataHome), path("work"), 600);
    }
    Result cli(const QStringList& args, const QString& dataHome) const {
        return runProgram(installed("bin/souldiffuser"), args, userEnvironment(dataHome), path("work"), 600);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        for (const char* tool : {CPACK, DPKG_DEB, LINTIAN, DESKTOP_FILE_VALIDATE, APPSTREAMCLI, XVFB_RUN})
            QVERIFY2(QString(tool).size() > 0 && !QString(tool).endsWith("NOTFOUND"),
                     "a packaging tool is missing: tools/setup.sh installs cpack (cmake), dpkg-dev, lintian, "
                     "desktop-file-utils, appstream and xvfb");
        QVERIFY(QDir().mkpath(path("home")) && QDir().mkpath(path("work")));
        const Result pack = runProgram(CPACK, {"--config", SOUL_BUILD_DIR "/CPackConfig.cmake", "-B", path("package")},
                                       QProcessEnvironment::systemEnvironment(), SOUL_BUILD_DIR, 600);
        QVERIFY2(pack.code == 0, qPrintable(pack.out));
        const QStringList debs = QDir(path("package")).entryList({"souldiffuser-studio_*_amd64.deb"}, QDir::Files);
        QCOMPARE(debs.size(), 1);
        m_deb = path("package/" + debs.first());
        m_root = path("root");
        const Result unpack = runProgram(DPKG_DEB, {"-x", m_deb, m_root}, QProcessEnvironment::systemEnvironment(), path("work"), 120);
        QVERIFY2(unpack.code == 0, qPrintable(unpack.out));
    }

    void contents() {
        for (const QString& file :
             {"bin/souldiffuser", "bin/souldiffuser-studio", "share/souldiffuser/models/phantom-small/run.json",
              "share/souldiffuser/models/phantom-small/unet.pt", "share/souldiffuser/models/configs/phantom-small.json",
              "share/applications/souldiffuser-studio.desktop", "share/metainfo/org.souldiffuser.Studio.metainfo.xml",
              "share/icons/hicolor/scalable/apps/souldiffuser-studio.svg", "share/icons/hicolor/48x48/apps/souldiffuser-studio.png",
              "share/icons/hicolor/256x256/apps/souldiffuser-studio.png", "share/man/man1/souldiffuser.1.gz",
              "share/man/man1/souldiffuser-studio.1.gz", "share/bash-completion/completions/souldiffuser",
              "share/doc/souldiffuser-studio/copyright", "share/doc/souldiffuser-studio/changelog.gz"})
            QVERIFY2(QFileInfo(installed(file)).size() > 0, qPrintable(file + " is not in the package"));
        QCOMPARE(QImage(installed("share/icons/hicolor/48x48/apps/souldiffuser-studio.png")).size(), QSize(48, 48));
        // Computed library dependencies plus the data packages the default subject is made from.
        const Result depends = runProgram(DPKG_DEB, {"--field", m_deb, "Depends"}, QProcessEnvironment::systemEnvironment(), path("work"), 60);
        QCOMPARE(depends.code, 0);
        for (const char* package : {"mricron-data", "dataset-fashion-mnist", "libtorch", "libqt6widgets6", "libvtk9"})
            QVERIFY2(depends.out.contains(package), qPrintable(QString("Depends lacks %1: %2").arg(package, depends.out)));
    }

    void validators() {
        const QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        const Result desktop = runProgram(DESKTOP_FILE_VALIDATE, {installed("share/applications/souldiffuser-studio.desktop")}, env, path("work"), 60);
        QVERIFY2(desktop.code == 0 && !desktop.out.contains("error"), qPrintable(desktop.out));
        const Result appstream =
            runProgram(APPSTREAMCLI, {"validate", "--no-net", installed("share/metainfo/org.souldiffuser.Studio.metainfo.xml")}, env, path("work"), 60);
        QVERIFY2(appstream.code == 0, qPrintable(appstream.out));
        const Result lintian = runProgram(LINTIAN, {m_deb}, env, path("work"), 300);
        QStringList errors;
        for (const QString& line : lintian.out.split('\n'))
            if (line.startsWith("E: ")) errors << line;
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join('\n')));
        QVERIFY2(lintian.code == 0, qPrintable(lintian.out));
    }

    void installedProgramsUseTheInstalledData() {
        const Result env = cli({"env"}, path("xdg"));
        QVERIFY2(env.code == 0, qPrintable(env.out));
        QVERIFY2(env.out.contains("shipped model:  " + QDir::cleanPath(m_root + "/usr/share/souldiffuser/models/phantom-small") +
                                  " (install prefix)"),
                 qPrintable(env.out));
        QVERIFY2(env.out.contains("source tree:    (not used"), qPrintable(env.out));
        QVERIFY(!env.out.contains(SOUL_SOURCE_DIR "/models"));
        const Result help = runProgram(installed("bin/souldiffuser-studio"), {"--help"}, userEnvironment(path("xdg")), path("work"), 60);
        QVERIFY2(help.code == 0 && help.out.contains("--screenshot"), qPrintable(help.out));   // no display needed
        // Bash completion of a subcommand's options, read from the installed program.
        const Result completion = runProgram(
            "/bin/bash",
            {"-c", QString("source '%1'; COMP_WORDS=('%2' reconstruct --st); COMP_CWORD=2; _souldiffuser; echo \"${COMPREPLY[*]}\"")
                       .arg(installed("share/bash-completion/completions/souldiffuser"), installed("bin/souldiffuser"))},
            userEnvironment(path("xdg")), path("work"), 60);
        QVERIFY2(completion.code == 0 && completion.out.trimmed() == "--steps --strength", qPrintable(completion.out));
    }

    // First start: the studio makes the default subject in the user's data dir, opens the shipped
    // model's session and reconstructs test trial 0 in the workbench.
    void installedStudioMakesTheSubjectAndShowsATrial() {
        const Result shot = studio({"--screenshot", path("workbench.png"), "--view", "workbench", "--trial", "0", "--size", "1500x1150"}, path("xdg"));
        QVERIFY2(shot.code == 0, qPrintable(shot.out));
        QVERIFY(QFile::exists(path("xdg/souldiffuser/phantom/nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5")));
        QVERIFY(QFile::exists(path("xdg/souldiffuser/phantom-prepared-64/manifest.json")));
        QVERIFY(!QFile::exists(path("xdg/souldiffuser/phantom.partial")));
        QVERIFY(!QFile::exists(path("xdg/souldiffuser/phantom-prepared-64.partial")));
        QVERIFY(!QImage(path("workbench.png")).isNull());
    }

    // The command line finds the subject the studio made, reconstructs trials 0 and 1, and trial 0's
    // image is the one on the studio's screen (same seed, same settings), trial 1's is not.
    void installedCliReconstructsWhatTheStudioShows() {
        const Result made = cli({"default-subject"}, path("xdg"));
        QVERIFY2(made.code == 0 && made.out.contains("already made"), qPrintable(made.out));
        const Result rec = cli({"reconstruct", "--trials", "0,1", "--out", path("reconstruction")}, path("xdg"));
        QVERIFY2(rec.code == 0, qPrintable(rec.out));
        const QImage screen(path("workbench.png"));
        const QImage trial0(path("reconstruction/trial-test-0000/reconstruction-0.png"));
        const QImage trial1(path("reconstruction/trial-test-0001/reconstruction-0.png"));
        const QImage stimulus0(path("reconstruction/trial-test-0000/stimulus.png"));
        QVERIFY(!screen.isNull() && !trial0.isNull() && !trial1.isNull() && !stimulus0.isNull());
        constexpr int kShownSide = 128;   // WorkbenchPanel's image side
        const double same = bestMatch(screen, trial0, kShownSide), other = bestMatch(screen, trial1, kShownSide),
                     stimulus = bestMatch(screen, stimulus0, kShownSide);
        qInfo("best match on screen (mean |ΔRGB|): trial 0 %.1f, its stimulus %.1f, trial 1 %.1f", same, stimulus, other);
        // Measured: 7.3 for trial 0 and 7.1 for its stimulus (the quarter-size grid is up to 2 px off
        // the view's and it scales with another filter), 60.7 for trial 1.
        QVERIFY2(same < 15, qPrintable(QString("trial 0's reconstruction is not on screen: %1").arg(same)));
        QVERIFY2(stimulus < 15, qPrintable(QString("trial 0's stimulus is not on screen: %1").arg(stimulus)));
        QVERIFY2(other > 2 * same + 15, qPrintable(QString("trial 1 matches as well as trial 0: %1 vs %2").arg(other).arg(same)));
    }

    // Bad input: a data dir that cannot be written, a data package that is missing: the message
    // names the folder or the package and how to fix it; the studio stays up on the fallback brain.
    void missingPackageOrUnwritableDataDir() {
        QFile blocker(path("not-a-folder"));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        const QString unwritable = path("not-a-folder/data");
        const Result cliError = cli({"default-subject"}, unwritable);
        QCOMPARE(cliError.code, 1);
        QVERIFY2(cliError.out.contains(unwritable + "/souldiffuser") && cliError.out.contains("XDG_DATA_HOME"), qPrintable(cliError.out));

        const Result studioError = studio({"--screenshot", path("fallback.png"), "--view", "axial"}, unwritable);
        QVERIFY2(studioError.code == 0, qPrintable(studioError.out));
        QVERIFY2(studioError.out.contains("could not be made") && studioError.out.contains("XDG_DATA_HOME"), qPrintable(studioError.out));
        QVERIFY(!QImage(path("fallback.png")).isNull());

        QProcessEnvironment noAnatomy = userEnvironment(path("xdg-2"));
        noAnatomy.insert("SOUL_MRICRON_DIR", path("no-mricron-here"));
        const Result missing = runProgram(installed("bin/souldiffuser"), {"default-subject"}, noAnatomy, path("work"), 60);
        QCOMPARE(missing.code, 1);
        QVERIFY2(missing.out.contains("mricron-data") && missing.out.contains("apt-get install"), qPrintable(missing.out));
        QVERIFY(!QDir(path("xdg-2/souldiffuser/phantom")).exists());
    }
};

QTEST_GUILESS_MAIN(TestPackage)
#include "tst_package.moc"
