#pragma once
// Interactive plots over stored runs, all sharing one behaviour: every marker is a run,
// hovering shows the run's configuration, clicking emits the run's id, and the selected run
// (from any view, through the workbench context) is ringed.
//
//   RunParetoPlot  size (MB or bits per weight) × metric; colour = weight bits (Okabe–Ito),
//                  marker = strategy taxonomy class; fronts from core/analysis as step lines
//   RunCurvePlot   metric × weight bits: one line per strategy (optionally per model), or one
//                  line per model (a family: does a larger model at fewer bits win?)
//
// The plots take RunRecord vectors, never a database: the caller reads the store, so a
// plot can be filled from any source (tests, a merged store).

#include "analysis/export.h"
#include "analysis/pareto.h"
#include "store/results_store.h"

#include <qcustomplot.h>

#include <QColor>
#include <QString>
#include <functional>
#include <optional>
#include <vector>

namespace ptq {

// Colour-blind-safe colour per weight bit width (Okabe & Ito 2008); grey for other widths.
QColor runBitsColour(int bits);
// Marker per taxonomy class ("baseline", "compensation", "rotation", "salience",
// "optimization", "combination"; anything else, "other", is a plain cross).
QCPScatterStyle::ScatterShape taxonomyShape(const QString& taxonomyClass);

// Maps a recipe name to its taxonomy class. The GUI passes one built from strategyCatalog();
// an empty function (or an empty answer) means "other".
using StrategyClassifier = std::function<QString(const QString& recipeName)>;

// "model · recipe · W4 A16 KV16 · g128": the configuration of a run in one line.
QString runConfigText(const RunRecord& run);

// The value of `metric` recorded for `run` on `dataset` ("" = the first one recorded).
std::optional<double> runMetricValue(const RunRecord& run, const std::string& metric,
                                     const std::string& dataset = {});

// The part every run plot shares: run markers with hover, click and selection.
class RunPlotBase : public QCustomPlot {
    Q_OBJECT
public:
    explicit RunPlotBase(QWidget* parent = nullptr);

    // The runs drawn as markers, in drawing order.
    std::vector<int64_t> plottedRunIds() const;
    // Where the run's marker is, in widget pixels (for tests and tooltips); null if not drawn.
    std::optional<QPointF> pixelOfRun(int64_t runId) const;
    // The run whose marker is within `radius` pixels of pos (the nearest), or 0.
    int64_t runAt(const QPointF& pos, double radius = 8.0) const;
    // The tooltip text for a drawn run ("" when the run is not drawn).
    QString tooltipOfRun(int64_t runId) const;

    int64_t selectedRun() const { return m_selectedRun; }
    // Rings the run's marker (0 or a run not drawn clears the ring); does not emit.
    void setSelectedRun(int64_t runId);
    // The data behind the plot, one row per marker (run id, series, x, y, configuration).
    virtual ExportTable dataTable() const;

    void setLogAxes(bool logX, bool logY);

signals:
    void runClicked(qint64 runId);

protected:
    struct Marker {
        int64_t runId = 0;
        double x = 0, y = 0;
        QString series;
        QString tooltip;
    };
    // Clears graphs, items and markers (the selection ring is re-created).
    void resetPlot();
    void addMarker(const Marker& m) { m_markers.push_back(m); }
    void finishAxes(const QString& xLabel, const QString& yLabel);
    QString xName() const { return m_xName; }
    QString yName() const { return m_yName; }

    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    std::vector<Marker> m_markers;
    QCPGraph* m_ring = nullptr;
    int64_t m_selectedRun = 0;
    QString m_xName, m_yName;
    QSharedPointer<QCPAxisTicker> m_linearTickers[2]; // x, y while the axis is logarithmic
    QPointF m_pressPos;
};

enum class FrontMode { None, Overall, PerStrategy };

struct RunParetoSpec {
    std::string metric = "perplexity";
    std::string dataset; // sha256 or prefix; "" = the only dataset carrying the metric
    SizeAxis x = SizeAxis::Bytes;
    FrontMode front = FrontMode::Overall;
    std::string source = "runs"; // names the database in error messages
};

struct DrawnFront {
    QString label;               // "all runs" or the recipe name
    std::vector<int64_t> runIds; // in front order (by size)
};

class RunParetoPlot : public RunPlotBase {
    Q_OBJECT
public:
    explicit RunParetoPlot(QWidget* parent = nullptr);

    void setStrategyClassifier(StrategyClassifier classifier);
    // Redraws from the Done runs among `runs`. Throws ptq::Error (from core/analysis) for an
    // unknown metric, an ambiguous dataset or no run carrying the metric; the plot is left
    // empty then. Returns the number of markers.
    int setRuns(const std::vector<RunRecord>& runs, const RunParetoSpec& spec);
    const std::vector<DrawnFront>& fronts() const { return m_fronts; }
    const std::vector<std::string>& warnings() const { return m_warnings; }

private:
    QString classOf(const std::string& recipe) const;
    void drawFronts(const std::vector<RunRecord>& runs, const RunParetoSpec& spec);

    StrategyClassifier m_classifier;
    std::vector<DrawnFront> m_fronts;
    std::vector<std::string> m_warnings;
};

enum class CurveGrouping {
    Strategy,      // one line per recipe: metric vs weight bits
    StrategyModel, // one line per (recipe, model)
    Model,         // one line per model (the best recipe at each width): a model family
};

struct RunCurveSpec {
    std::string metric = "perplexity";
    std::string dataset; // as RunParetoSpec
    CurveGrouping grouping = CurveGrouping::Strategy;
    std::string source = "runs";
};

class RunCurvePlot : public RunPlotBase {
    Q_OBJECT
public:
    explicit RunCurvePlot(QWidget* parent = nullptr);

    // Every Done run carrying the metric is a marker; each line joins its group's best run at
    // each weight bit width (metricDirection decides "best"). Throws ptq::Error as
    // RunParetoPlot::setRuns. Returns the number of markers.
    int setRuns(const std::vector<RunRecord>& runs, const RunCurveSpec& spec);
    // Line labels in drawing order.
    QStringList lineLabels() const { return m_lineLabels; }

private:
    QStringList m_lineLabels;
};

} // namespace ptq
