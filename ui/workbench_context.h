#pragma once
// What every panel shares: the results database in use, the selected run and the selected
// layer. A panel that changes one calls the setter; every panel that shows it listens to the
// signal. Clicking a point in a plot, a row in the table or a cell of the heatmap all go
// through here, which is how "selecting a run selects it in every view" is one code path.

#include <QObject>
#include <QString>

namespace ptq {

class WorkbenchContext : public QObject {
    Q_OBJECT
public:
    explicit WorkbenchContext(QObject* parent = nullptr) : QObject(parent) {}

    QString databasePath() const { return m_databasePath; }
    qint64 selectedRun() const { return m_selectedRun; }      // 0 = none
    QString selectedLayer() const { return m_selectedLayer; } // "3.mlp.down_proj", "" = none
    int engineThreads() const { return m_engineThreads; }     // 0 = engine default

public slots:
    void setDatabasePath(const QString& path)
    {
        if (path == m_databasePath)
            return;
        m_databasePath = path;
        m_selectedRun = 0;
        emit databaseChanged(path);
    }
    void selectRun(qint64 runId)
    {
        if (runId == m_selectedRun)
            return;
        m_selectedRun = runId;
        emit runSelected(runId);
    }
    void selectLayer(const QString& layer)
    {
        if (layer == m_selectedLayer)
            return;
        m_selectedLayer = layer;
        emit layerSelected(layer);
    }
    void setEngineThreads(int n) { m_engineThreads = n; }
    // Called when runs were added or finished: views re-read the store.
    void notifyStoreChanged() { emit storeChanged(); }

signals:
    void databaseChanged(const QString& path);
    void runSelected(qint64 runId);
    void layerSelected(const QString& layer);
    void storeChanged();

private:
    QString m_databasePath;
    qint64 m_selectedRun = 0;
    QString m_selectedLayer;
    int m_engineThreads = 0;
};

} // namespace ptq
