#pragma once
// The model panel: pick a checkpoint folder (button, File menu, drag and drop) and see what
// it holds. Reading the folder (config.json, every safetensors header) happens on a worker
// thread; the GUI thread only formats the summary. The list beside it holds the bundled model
// family and the recently opened folders.

#include "model/checkpoint.h"

#include <QFuture>
#include <QFutureWatcher>
#include <QList>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <optional>

class QFormLayout;
class QLabel;
class QListWidget;
class QPushButton;

namespace ptq {

class ModelPanel : public QWidget {
    Q_OBJECT
public:
    explicit ModelPanel(QWidget* parent = nullptr);
    ~ModelPanel() override; // waits for loads still running

    bool isLoading() const { return m_loading; }
    QString currentDir() const { return m_dir; }
    // The bundled family, then recently opened folders (QSettings "recentModels").
    QStringList knownModels() const;
    static QStringList recentModels();

public slots:
    // Asks for a folder with a dialog, then opens it.
    void chooseFolder();
    // Starts reading dir in the background; modelLoaded or loadFailed follows. A later call
    // supersedes an earlier one still running: only the last folder's result is shown.
    void openFolder(const QString& dir);

signals:
    void loadStarted(const QString& dir);
    void modelLoaded(const QString& dir);
    void loadFailed(const QString& message);
    void modelsChanged(const QStringList& dirs);

protected:
    void changeEvent(QEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    struct LoadResult {
        QString dir;
        std::optional<CheckpointSummary> summary;
        QString error;
    };
    static LoadResult load(const QString& dir);

    void buildUi();
    void retranslateUi();
    void showSummary();
    void clearValues();
    void onLoadFinished();
    QLabel* addRow(const QString& objectName);
    void fillModelList();
    static void rememberRecent(const QString& dir);
    static constexpr int kMaxRecent = 10;

    QLabel* m_listCaption = nullptr;
    QListWidget* m_modelList = nullptr;
    QPushButton* m_openButton = nullptr;
    QLabel* m_intro = nullptr;
    QLabel* m_pathLabel = nullptr;
    QLabel* m_errorLabel = nullptr;
    QFormLayout* m_form = nullptr;
    QLabel* m_architecture = nullptr;
    QLabel* m_parameters = nullptr;
    QLabel* m_dtype = nullptr;
    QLabel* m_layers = nullptr;
    QLabel* m_hiddenSize = nullptr;
    QLabel* m_heads = nullptr;
    QLabel* m_vocab = nullptr;
    QLabel* m_sizeOnDisk = nullptr;
    QLabel* m_shards = nullptr;
    QLabel* m_tokenizer = nullptr;

    QString m_dir;
    bool m_loading = false;
    std::optional<CheckpointSummary> m_summary;
    QString m_error;
    QFutureWatcher<LoadResult> m_watcher;
    QList<QFuture<LoadResult>> m_running; // every started load, waited for on destruction
};

} // namespace ptq
