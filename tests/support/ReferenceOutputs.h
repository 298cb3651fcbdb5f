// The reference scripts of tests/core (*_reference.py), run by Debian's python3 and its PyTorch:
// `SCRIPT outputs FOLDER` writes tiny models with seeded random weights and what PyTorch computes
// from them. The tiny Stable Diffusion (FOLDER/sd) is unet_reference.py's UNet, then
// stable_diffusion_reference.py's folder around it.
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

namespace soultest {

inline const QStringList kTinyStableDiffusion = {"unet_reference.py", "stable_diffusion_reference.py"};

// Runs each script in order into `folder`; empty on success, else the script and what went wrong.
inline QString referenceOutputs(const QString& python, const QString& sourceDir, const QStringList& scripts, const QString& folder) {
    constexpr int kScriptMs = 300000;   // seconds alone; minutes on a busy machine
    for (const QString& script : scripts) {
        QProcess p;
        p.start(python, {sourceDir + "/tests/core/" + script, "outputs", folder});
        if (!p.waitForFinished(kScriptMs)) return script + ": did not finish";
        if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) return script + ": " + QString::fromLocal8Bit(p.readAllStandardError());
    }
    return {};
}

}  // namespace soultest
