#include "plot_csv.h"

#include "util/error.h"

#include <QFile>
#include <QTextStream>
#include <cmath>

namespace ptq {

namespace {

[[noreturn]] void fail(const QString& path, const QString& object, const QString& reason)
{
    throw Error(path.toStdString(), object.toStdString(), reason.toStdString());
}

QString lineName(int lineNo)
{
    return QStringLiteral("line %1").arg(lineNo);
}

double parseNumber(const QString& path, int lineNo, const QString& column, const QString& text)
{
    bool ok = false;
    const double v = text.trimmed().toDouble(&ok); // C locale: '.' decimal point always
    if (!ok || !std::isfinite(v))
        fail(path, lineName(lineNo),
             QStringLiteral("column '%1' is not a finite number: '%2'").arg(column, text));
    return v;
}

} // namespace

bool splitCsvLine(const QString& line, QStringList& fields)
{
    fields.clear();
    QString field;
    bool quoted = false;
    for (int i = 0; i < line.size(); ++i) {
        const QChar c = line[i];
        if (quoted) {
            if (c == QLatin1Char('"') && i + 1 < line.size() && line[i + 1] == QLatin1Char('"')) {
                field += c;
                ++i;
            } else if (c == QLatin1Char('"')) {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == QLatin1Char('"')) {
            quoted = true;
        } else if (c == QLatin1Char(',')) {
            fields.append(field);
            field.clear();
        } else {
            field += c;
        }
    }
    fields.append(field);
    return !quoted;
}

QVector<PlotPoint> readPlotCsv(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        fail(path, QStringLiteral("file"),
             QStringLiteral("cannot open: %1").arg(file.errorString()));
    QTextStream in(&file);

    int lineNo = 0;
    int labelCol = -1, sizeCol = -1, metricCol = -1;
    QVector<PlotPoint> points;
    QStringList fields;
    while (!in.atEnd()) {
        const QString line = in.readLine();
        ++lineNo;
        if (line.trimmed().isEmpty())
            continue;
        if (!splitCsvLine(line, fields))
            fail(path, lineName(lineNo), QStringLiteral("unterminated quoted field"));
        if (labelCol < 0) {
            for (QString& f : fields)
                f = f.trimmed().toLower();
            labelCol = int(fields.indexOf(QStringLiteral("label")));
            sizeCol = int(fields.indexOf(QStringLiteral("size_mb")));
            metricCol = int(fields.indexOf(QStringLiteral("metric")));
            if (labelCol < 0 || sizeCol < 0 || metricCol < 0)
                fail(path, lineName(lineNo),
                     QStringLiteral("header must name the columns label, size_mb and metric"));
            continue;
        }
        const int needed = std::max({labelCol, sizeCol, metricCol}) + 1;
        if (fields.size() < needed)
            fail(path, lineName(lineNo),
                 QStringLiteral("%1 fields, expected at least %2").arg(fields.size()).arg(needed));
        PlotPoint p;
        p.label = fields[labelCol].trimmed();
        p.x = parseNumber(path, lineNo, QStringLiteral("size_mb"), fields[sizeCol]);
        p.y = parseNumber(path, lineNo, QStringLiteral("metric"), fields[metricCol]);
        if (p.x < 0.0)
            fail(path, lineName(lineNo), QStringLiteral("size_mb is negative"));
        points.append(p);
    }
    if (labelCol < 0)
        fail(path, QStringLiteral("header"), QStringLiteral("the file is empty"));
    if (points.isEmpty())
        fail(path, QStringLiteral("data"), QStringLiteral("no data rows after the header"));
    return points;
}

} // namespace ptq
