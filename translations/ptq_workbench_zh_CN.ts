<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>main</name>
    <message>
        <location filename="../app/workbench_main.cpp" line="47"/>
        <source>usage: ptq-workbench --headless-plot CSV|FILE.db OUT(.png|.svg|.pdf) [Y_TITLE|METRIC]</source>
        <translation>用法：ptq-workbench --headless-plot CSV|FILE.db 输出(.png|.svg|.pdf) [Y_TITLE|METRIC]</translation>
    </message>
    <message numerus="yes">
        <location filename="../app/workbench_main.cpp" line="69"/>
        <location filename="../app/workbench_main.cpp" line="82"/>
        <source>wrote %1 (%n point(s))</source>
        <translation>
            <numerusform>已写入 %1（%n 个点）</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../app/workbench_main.cpp" line="127"/>
        <source>Analysis workbench for post-training quantization</source>
        <translation>训练后量化分析工作台</translation>
    </message>
    <message>
        <location filename="../app/workbench_main.cpp" line="132"/>
        <source>A checkpoint folder to open.</source>
        <translation>要打开的检查点文件夹。</translation>
    </message>
</context>
<context>
    <name>ptq::DisplayFormat</name>
    <message>
        <location filename="../ui/display_format.cpp" line="37"/>
        <source>%1 (%2 bytes)</source>
        <translation>%1（%2 字节）</translation>
    </message>
    <message>
        <location filename="../ui/display_format.cpp" line="47"/>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <location filename="../ui/display_format.cpp" line="49"/>
        <source>%1 min %2 s</source>
        <translation>%1 分 %2 秒</translation>
    </message>
    <message>
        <location filename="../ui/display_format.cpp" line="52"/>
        <source>%1 h %2 min</source>
        <translation>%1 小时 %2 分</translation>
    </message>
</context>
<context>
    <name>ptq::ExperimentPanel</name>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="42"/>
        <source>Baseline</source>
        <translation>基线</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="44"/>
        <source>Compensation</source>
        <translation>误差补偿</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="46"/>
        <source>Rotation</source>
        <translation>旋转</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="48"/>
        <source>Salience</source>
        <translation>显著性</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="50"/>
        <source>Optimization</source>
        <translation>优化</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="52"/>
        <source>Combinations</source>
        <translation>组合</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="58"/>
        <source>per channel</source>
        <translation>逐通道</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="58"/>
        <source>g%1</source>
        <translation>g%1</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="150"/>
        <source>Calibration text</source>
        <translation>校准文本</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="174"/>
        <source>Evaluation texts</source>
        <translation>评估文本</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="174"/>
        <source>Text files (*.txt);;All files (*)</source>
        <translation>文本文件 (*.txt);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="177"/>
        <source>Zero-shot task files</source>
        <translation>零样本任务文件</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="177"/>
        <source>JSON Lines (*.jsonl);;All files (*)</source>
        <translation>JSON Lines (*.jsonl);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="473"/>
        <source>choose at least one model</source>
        <translation>请至少选择一个模型</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="475"/>
        <source>choose at least one strategy</source>
        <translation>请至少选择一种策略</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="477"/>
        <source>choose at least one weight bit width and group size</source>
        <translation>请至少选择一个权重位宽和分组大小</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="479"/>
        <source>choose activation and KV-cache bits (16 = not quantized)</source>
        <translation>请选择激活和 KV 缓存位数（16 = 不量化）</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="482"/>
        <source>choose a calibration text</source>
        <translation>请选择校准文本</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="485"/>
        <source>the calibration text %1 does not exist</source>
        <translation>校准文本 %1 不存在</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="487"/>
        <source>choose an evaluation text or a zero-shot task file</source>
        <translation>请选择评估文本或零样本任务文件</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="519"/>
        <source>1 run</source>
        <translation>1 次运行</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="519"/>
        <source>%1 runs</source>
        <translation>%1 次运行</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="522"/>
        <source>estimated time %1</source>
        <translation>预计时间 %1</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="539"/>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="540"/>
        <source>Data</source>
        <translation>数据</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="541"/>
        <source>Calibration:</source>
        <translation>校准：</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="542"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="543"/>
        <source>Samples × tokens:</source>
        <translation>样本数 × 词元数：</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="544"/>
        <source>Evaluation texts:</source>
        <translation>评估文本：</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="545"/>
        <location filename="../ui/experiment_panel.cpp" line="549"/>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="546"/>
        <location filename="../ui/experiment_panel.cpp" line="550"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="547"/>
        <source>Windows (0 = all) × tokens:</source>
        <translation>窗口数（0 = 全部）× 词元数：</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="548"/>
        <source>Zero-shot tasks:</source>
        <translation>零样本任务：</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="551"/>
        <source>Strategies</source>
        <translation>策略</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="552"/>
        <source>Strategy</source>
        <translation>策略</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="552"/>
        <source>Description</source>
        <translation>说明</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="557"/>
        <source>Bit widths</source>
        <translation>位宽</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="560"/>
        <source>W%1</source>
        <translation>W%1</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="565"/>
        <source>Activation bits:</source>
        <translation>激活位数：</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="566"/>
        <source>KV-cache bits:</source>
        <translation>KV 缓存位数：</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="569"/>
        <source>16 (none)</source>
        <translation>16（不量化）</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="571"/>
        <source>Queue runs</source>
        <translation>加入队列</translation>
    </message>
</context>
<context>
    <name>ptq::ExportDialog</name>
    <message>
        <location filename="../ui/export_dialog.cpp" line="99"/>
        <location filename="../ui/export_dialog.cpp" line="179"/>
        <source>Export figure</source>
        <translation>导出图形</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="100"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="101"/>
        <source>File:</source>
        <translation>文件：</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="102"/>
        <source>Format:</source>
        <translation>格式：</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="103"/>
        <source>Preset:</source>
        <translation>预设：</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="104"/>
        <source>Width:</source>
        <translation>宽度：</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="105"/>
        <source>Height / width:</source>
        <translation>高度 / 宽度：</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="106"/>
        <source>Resolution (PNG, dpi):</source>
        <translation>分辨率（PNG，dpi）：</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="107"/>
        <source>Font size:</source>
        <translation>字号：</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="168"/>
        <source>choose a .pdf, .svg or .png file</source>
        <translation>请选择 .pdf、.svg 或 .png 文件</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="169"/>
        <source>PDF (vector)</source>
        <translation>PDF（矢量）</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="170"/>
        <source>SVG (vector)</source>
        <translation>SVG（矢量）</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="171"/>
        <source>PNG (raster)</source>
        <translation>PNG（位图）</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="179"/>
        <source>PDF (*.pdf);;SVG (*.svg);;PNG image (*.png)</source>
        <translation>PDF (*.pdf);;SVG (*.svg);;PNG 图像 (*.png)</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="194"/>
        <source>Choose a file to write.</source>
        <translation>请选择要写入的文件。</translation>
    </message>
</context>
<context>
    <name>ptq::FigureExport</name>
    <message>
        <location filename="../plots/figure_export.cpp" line="91"/>
        <source>Single column (3.5 in)</source>
        <translation>单栏（3.5 in）</translation>
    </message>
    <message>
        <location filename="../plots/figure_export.cpp" line="93"/>
        <source>Double column (7 in)</source>
        <translation>双栏（7 in）</translation>
    </message>
    <message>
        <location filename="../plots/figure_export.cpp" line="97"/>
        <source>Custom width</source>
        <translation>自定义宽度</translation>
    </message>
    <message>
        <location filename="../plots/figure_export.cpp" line="107"/>
        <source>Cannot write figure to %1: unknown extension (use .pdf, .svg or .png)</source>
        <translation>无法将图形写入 %1：未知的扩展名（请使用 .pdf、.svg 或 .png）</translation>
    </message>
    <message>
        <location filename="../plots/figure_export.cpp" line="118"/>
        <source>Cannot write figure to %1: the font size must be positive</source>
        <translation>无法将图形写入 %1：字号必须为正数</translation>
    </message>
</context>
<context>
    <name>ptq::JobRunner</name>
    <message>
        <location filename="../ui/job_runner.cpp" line="147"/>
        <location filename="../ui/job_runner.cpp" line="163"/>
        <source>No results database is open.</source>
        <translation>未打开结果数据库。</translation>
    </message>
    <message>
        <location filename="../ui/job_runner.cpp" line="149"/>
        <location filename="../ui/job_runner.cpp" line="165"/>
        <source>The job runner is shutting down.</source>
        <translation>作业运行器正在关闭。</translation>
    </message>
    <message>
        <location filename="../ui/job_runner.cpp" line="365"/>
        <source>%1 is already in the queue.</source>
        <translation>%1 已在队列中。</translation>
    </message>
    <message>
        <location filename="../ui/job_runner.cpp" line="367"/>
        <source>%1 is running in another process.</source>
        <translation>%1 正在另一个进程中运行。</translation>
    </message>
</context>
<context>
    <name>ptq::LayerInspector</name>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="220"/>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="221"/>
        <source>Error measure:</source>
        <translation>误差度量：</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="222"/>
        <source>Log colour scale</source>
        <translation>对数色标</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="223"/>
        <source>Export figure…</source>
        <translation>导出图形…</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="224"/>
        <source>Heatmap</source>
        <translation>热力图</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="225"/>
        <source>Along the layers</source>
        <translation>沿层变化</translation>
    </message>
    <message>
        <source>Experts</source>
        <translation>专家</translation>
    </message>
    <message>
        <source>Layers × experts of the selected run</source>
        <translation>所选运行的层 × 专家</translation>
    </message>
    <message>
        <source>Experts across runs (mean over layers)</source>
        <translation>各运行的专家比较（层平均）</translation>
    </message>
    <message>
        <source>No Mixture-of-Experts run among the runs shown.</source>
        <translation>显示的运行中没有混合专家 (MoE) 运行。</translation>
    </message>
    <message>
        <source>expert %1</source>
        <translation>专家 %1</translation>
    </message>
    <message>
        <source>Calibration tokens</source>
        <translation>校准词元数</translation>
    </message>
    <message>
        <source>Input max. |x|</source>
        <translation>输入最大 |x|</translation>
    </message>
    <message>
        <source>Input outlier ratio</source>
        <translation>输入离群值比</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="230"/>
        <location filename="../ui/layer_inspector.cpp" line="310"/>
        <source>all models</source>
        <translation>所有模型</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="292"/>
        <source>Cannot read the results database %1: %2</source>
        <translation>无法读取结果数据库 %1：%2</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="419"/>
        <source>Layer</source>
        <translation>层</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="438"/>
        <source>Layer %1</source>
        <translation>层 %1</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="438"/>
        <source>Select a layer</source>
        <translation>请选择一层</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="457"/>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="460"/>
        <source>bytes</source>
        <translation>字节</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="518"/>
        <source>Run #%1, %2 = %3: rank %4 of %5 layers (1 = largest); min %6, median %7, max %8; output error %9, %10 s</source>
        <translation>运行 #%1，%2 = %3：在 %5 层中排第 %4（1 = 最大）；最小值 %6，中位数 %7，最大值 %8；输出误差 %9，%10 秒</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="546"/>
        <source>layers</source>
        <translation>层数</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="85"/>
        <source>Relative weight error</source>
        <translation>相对权重误差</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="87"/>
        <source>Output error</source>
        <translation>输出误差</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="89"/>
        <source>Method loss</source>
        <translation>方法损失</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="91"/>
        <source>Max. abs. error</source>
        <translation>最大绝对误差</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="93"/>
        <source>Time (s)</source>
        <translation>时间（秒）</translation>
    </message>
</context>
<context>
    <name>ptq::MainWindow</name>
    <message>
        <location filename="../ui/main_window.cpp" line="105"/>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="184"/>
        <source>Reading %1…</source>
        <translation>正在读取 %1…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="188"/>
        <source>Could not open the model: %1</source>
        <translation>无法打开模型：%1</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="218"/>
        <source>Opened %1</source>
        <translation>已打开 %1</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="266"/>
        <source>PTQ Workbench</source>
        <translation>PTQ 工作台</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="193"/>
        <source>Nothing was queued</source>
        <translation>未加入任何运行</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="194"/>
        <source>Runs not queued</source>
        <translation>运行未加入队列</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="199"/>
        <source>Run %1 failed: %2</source>
        <translation>运行 %1 失败：%2</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="201"/>
        <source>Run %1 finished</source>
        <translation>运行 %1 已完成</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="212"/>
        <source>Queueing %1…</source>
        <translation>正在将 %1 加入队列…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="213"/>
        <source>1 run</source>
        <translation>1 次运行</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="213"/>
        <source>%1 runs</source>
        <translation>%1 次运行</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="232"/>
        <source>Open results database</source>
        <translation>打开结果数据库</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="233"/>
        <source>SQLite files (*.db);;All files (*)</source>
        <translation>SQLite 文件 (*.db);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="261"/>
        <source>Database: %1</source>
        <translation>数据库：%1</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="267"/>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="268"/>
        <source>Experiment</source>
        <translation>实验</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="269"/>
        <source>Run queue</source>
        <translation>运行队列</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="270"/>
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="271"/>
        <source>Layer inspector</source>
        <translation>逐层检查</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="272"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="273"/>
        <source>&amp;Open model folder…</source>
        <translation>打开模型文件夹(&amp;O)…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="274"/>
        <source>Open results &amp;database…</source>
        <translation>打开结果数据库(&amp;D)…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="275"/>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="276"/>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="277"/>
        <source>&amp;Run</source>
        <translation>运行(&amp;R)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="278"/>
        <source>&amp;Queue runs</source>
        <translation>将运行加入队列(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="279"/>
        <source>&amp;Cancel all runs</source>
        <translation>取消所有运行(&amp;C)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="281"/>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="282"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="283"/>
        <source>&amp;About PTQ Workbench</source>
        <translation>关于 PTQ 工作台(&amp;A)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="284"/>
        <source>About &amp;Qt</source>
        <translation>关于 Qt(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="298"/>
        <source>Stopping the current run; it can be resumed later…</source>
        <translation>正在停止当前运行，稍后可以恢复…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="306"/>
        <source>&lt;h3&gt;PTQ Workbench %1&lt;/h3&gt;&lt;p&gt;Post-training quantization of large language models: measure size, perplexity and error per layer, and compare methods on their Pareto front.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;PTQ 工作台 %1&lt;/h3&gt;&lt;p&gt;大语言模型的训练后量化：测量大小、困惑度和逐层误差，并在帕累托前沿上比较各种方法。&lt;/p&gt;</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="311"/>
        <source>About PTQ Workbench</source>
        <translation>关于 PTQ 工作台</translation>
    </message>
</context>
<context>
    <name>ptq::ModelPanel</name>
    <message>
        <location filename="../ui/model_panel.cpp" line="172"/>
        <source>Bundled family</source>
        <translation>内置模型系列</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="176"/>
        <source>Recent</source>
        <translation>最近使用</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="196"/>
        <source>Models:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="198"/>
        <source>Open folder…</source>
        <translation>打开文件夹…</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="199"/>
        <source>Choose a Hugging Face checkpoint folder (Ctrl+O)</source>
        <translation>选择 Hugging Face 检查点文件夹 (Ctrl+O)</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="200"/>
        <source>Open or drop a folder holding config.json and model.safetensors.</source>
        <translation>打开或拖放包含 config.json 和 model.safetensors 的文件夹。</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="201"/>
        <source>Architecture:</source>
        <translation>架构：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="202"/>
        <source>Parameters:</source>
        <translation>参数量：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="203"/>
        <source>Data type:</source>
        <translation>数据类型：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="204"/>
        <source>Layers:</source>
        <translation>层数：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="205"/>
        <source>Hidden size:</source>
        <translation>隐藏层大小：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="206"/>
        <source>Heads / KV heads:</source>
        <translation>注意力头数 / KV 头数：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="207"/>
        <source>Vocabulary:</source>
        <translation>词表大小：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="208"/>
        <source>Size on disk:</source>
        <translation>磁盘占用：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="209"/>
        <source>Shards:</source>
        <translation>分片数：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="210"/>
        <source>Tokenizer:</source>
        <translation>分词器：</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="224"/>
        <source>Open model folder</source>
        <translation>打开模型文件夹</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="294"/>
        <source>No model open.</source>
        <translation>未打开模型。</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="296"/>
        <source>Reading %1…</source>
        <translation>正在读取 %1…</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="302"/>
        <source>Could not open the model: %1</source>
        <translation>无法打开模型：%1</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="319"/>
        <source>yes (tokenizer.json)</source>
        <translation>有 (tokenizer.json)</translation>
    </message>
    <message>
        <source>none (state space: %1 states × %2 channels)</source>
        <translation>无(状态空间:%1 个状态 × %2 个通道)</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="319"/>
        <source>no</source>
        <translation>无</translation>
    </message>
</context>
<context>
    <name>ptq::PlotExport</name>
    <message>
        <location filename="../plots/plot_export.cpp" line="20"/>
        <source>Cannot write plot to %1: %2</source>
        <translation>无法将图表写入 %1：%2</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="112"/>
        <source>no plot</source>
        <translation>没有图表</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="114"/>
        <source>width, resolution and aspect must be positive</source>
        <translation>宽度、分辨率和宽高比必须为正数</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="118"/>
        <source>the figure is too small</source>
        <translation>图太小</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="134"/>
        <source>the file could not be written</source>
        <translation>无法写入文件</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="145"/>
        <source>unknown extension (use .png, .svg or .pdf)</source>
        <translation>未知的扩展名（请使用 .png、.svg 或 .pdf）</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="150"/>
        <source>Size (MB)</source>
        <translation>大小 (MB)</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="151"/>
        <source>Metric</source>
        <translation>指标</translation>
    </message>
</context>
<context>
    <name>ptq::ResultsModel</name>
    <message>
        <location filename="../ui/results_model.cpp" line="40"/>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="42"/>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="44"/>
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="46"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="48"/>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="50"/>
        <source>interrupted</source>
        <translation>已中断</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="58"/>
        <source>channel</source>
        <translation>通道</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="60"/>
        <source>tensor</source>
        <translation>张量</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="201"/>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="203"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="205"/>
        <source>Recipe</source>
        <translation>配方</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="207"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="209"/>
        <source>W bits</source>
        <translation>W 位数</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="211"/>
        <source>A bits</source>
        <translation>A 位数</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="213"/>
        <source>KV bits</source>
        <translation>KV 位数</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="215"/>
        <source>Group</source>
        <translation>分组</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="217"/>
        <source>Bits/weight</source>
        <translation>位/权重</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="219"/>
        <source>Size (MB)</source>
        <translation>大小 (MB)</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="221"/>
        <source>Perplexity</source>
        <translation>困惑度</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="223"/>
        <source>FP perplexity</source>
        <translation>FP 困惑度</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="225"/>
        <source>KL</source>
        <translation>KL</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="227"/>
        <source>Top-1</source>
        <translation>Top-1 一致率</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="229"/>
        <source>Accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="231"/>
        <source>Quantize (s)</source>
        <translation>量化（秒）</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="233"/>
        <source>Eval (s)</source>
        <translation>评估（秒）</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="235"/>
        <source>Finished</source>
        <translation>完成时间</translation>
    </message>
</context>
<context>
    <name>ptq::ResultsPanel</name>
    <message>
        <source>Active size per token (MB)</source>
        <translation>每个词元的激活大小 (MB)</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="211"/>
        <source>Metric:</source>
        <translation>指标：</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="212"/>
        <source>Dataset:</source>
        <translation>数据集：</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="213"/>
        <source>x axis:</source>
        <translation>x 轴：</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="214"/>
        <source>Size (MB)</source>
        <translation>大小 (MB)</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="215"/>
        <source>Bits per weight</source>
        <translation>每权重位数</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="216"/>
        <source>Log x</source>
        <translation>对数 x</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="217"/>
        <source>Log y</source>
        <translation>对数 y</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="218"/>
        <source>Front:</source>
        <translation>前沿：</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="219"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="220"/>
        <source>overall</source>
        <translation>整体</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="221"/>
        <source>per strategy</source>
        <translation>按策略</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="222"/>
        <source>Lines per model</source>
        <translation>每个模型一条线</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="223"/>
        <source>Metric vs bits: one line per strategy and model</source>
        <translation>指标与位数：每个策略和模型一条线</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="224"/>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="225"/>
        <source>Status:</source>
        <translation>状态：</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="226"/>
        <source>any</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="227"/>
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="227"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="228"/>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="228"/>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="229"/>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="229"/>
        <source>interrupted</source>
        <translation>已中断</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="232"/>
        <source>Filter runs (any column)…</source>
        <translation>筛选运行（任意列）…</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="233"/>
        <source>Export figure…</source>
        <translation>导出图形…</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="234"/>
        <source>Export table…</source>
        <translation>导出表格…</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="235"/>
        <source>Export data…</source>
        <translation>导出数据…</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="236"/>
        <source>The numbers behind the current view, as CSV</source>
        <translation>以 CSV 格式导出当前视图背后的数值</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="237"/>
        <source>Table</source>
        <translation>表格</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="238"/>
        <source>Pareto</source>
        <translation>帕累托</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="239"/>
        <source>Metric vs bits</source>
        <translation>指标与位数</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="240"/>
        <source>Model size vs bits</source>
        <translation>模型大小与位数</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="242"/>
        <location filename="../ui/results_panel.cpp" line="314"/>
        <source>all models</source>
        <translation>所有模型</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="294"/>
        <source>Cannot read the results database %1: %2</source>
        <translation>无法读取结果数据库 %1：%2</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="342"/>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="492"/>
        <source>Export table</source>
        <translation>导出表格</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="492"/>
        <source>CSV (*.csv);;LaTeX table (*.tex);;JSON (*.json)</source>
        <translation>CSV (*.csv);;LaTeX 表格 (*.tex);;JSON (*.json)</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="502"/>
        <source>Export plot data</source>
        <translation>导出图表数据</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="502"/>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
</context>
<context>
    <name>ptq::RunCurvePlot</name>
    <message>
        <location filename="../plots/run_plots.cpp" line="439"/>
        <location filename="../plots/run_plots.cpp" line="481"/>
        <source>Weight bits</source>
        <translation>权重位数</translation>
    </message>
</context>
<context>
    <name>ptq::RunParetoPlot</name>
    <message>
        <source>Active size per token (MB, packed)</source>
        <translation>每个词元的激活大小 (MB, 打包)</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="294"/>
        <source>Model size (MB, packed)</source>
        <translation>模型大小（MB，打包后）</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="294"/>
        <source>Bits per weight</source>
        <translation>每权重位数</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="350"/>
        <source>all runs</source>
        <translation>所有运行</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="354"/>
        <source>Pareto front</source>
        <translation>帕累托前沿</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="355"/>
        <source>front: %1</source>
        <translation>前沿：%1</translation>
    </message>
</context>
<context>
    <name>ptq::RunPlots</name>
    <message>
        <location filename="../plots/run_plots.cpp" line="37"/>
        <source>per channel</source>
        <translation>逐通道</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="39"/>
        <source>per tensor</source>
        <translation>逐张量</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="45"/>
        <source>size: %1 MB packed, %2 bits/weight</source>
        <translation>大小：%1 MB（打包后），%2 位/权重</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="51"/>
        <source>run %1
%2
%3: %4
%5</source>
        <translation>运行 %1
%2
%3：%4
%5</translation>
    </message>
</context>
<context>
    <name>ptq::RunQueuePanel</name>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Job</source>
        <translation>作业</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Stage</source>
        <translation>阶段</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Elapsed</source>
        <translation>已用时间</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="125"/>
        <source>ETA</source>
        <translation>剩余时间</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="126"/>
        <source>Cancel all</source>
        <translation>全部取消</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="127"/>
        <source>Stop the running job and remove every queued one</source>
        <translation>停止正在运行的作业并移除所有排队的作业</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="128"/>
        <source>Resume interrupted runs</source>
        <translation>恢复中断的运行</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="130"/>
        <source>Queue again every run of the results database that was interrupted or cancelled</source>
        <translation>将结果数据库中所有被中断或取消的运行重新加入队列</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="132"/>
        <location filename="../ui/run_queue_panel.cpp" line="200"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="149"/>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="151"/>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="153"/>
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="155"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="157"/>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="159"/>
        <source>interrupted</source>
        <translation>已中断</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="168"/>
        <source>loading</source>
        <translation>加载中</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="170"/>
        <source>quantizing</source>
        <translation>量化中</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="172"/>
        <source>perplexity</source>
        <translation>困惑度</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="174"/>
        <source>perplexity and KL</source>
        <translation>困惑度和 KL</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="176"/>
        <source>zero-shot tasks</source>
        <translation>零样本任务</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="180"/>
        <source>block %1/%2</source>
        <translation>块 %1/%2</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="215"/>
        <source>done (already in the database)</source>
        <translation>已完成（已在数据库中）</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="245"/>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="321"/>
        <source>No jobs in this session yet.</source>
        <translation>本次会话中还没有作业。</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="322"/>
        <source>Select a job to see its result or error.</source>
        <translation>选择一个作业以查看其结果或错误。</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="360"/>
        <source>There are no interrupted or cancelled runs to resume.</source>
        <translation>没有可恢复的已中断或已取消的运行。</translation>
    </message>
</context>
<context>
    <name>ptq::SettingsDialog</name>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="118"/>
        <source>Results database</source>
        <translation>结果数据库</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="118"/>
        <source>SQLite files (*.db)</source>
        <translation>SQLite 文件 (*.db)</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="157"/>
        <source>About PTQ Workbench</source>
        <translation>关于 PTQ 工作台</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="207"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="208"/>
        <source>Engine threads:</source>
        <translation>引擎线程数：</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="210"/>
        <source>automatic (one per core: %1)</source>
        <translation>自动（每个核心一个：%1）</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="211"/>
        <source>Results database:</source>
        <translation>结果数据库：</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="214"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="215"/>
        <source>Language:</source>
        <translation>语言：</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="216"/>
        <source>Keyboard shortcuts:</source>
        <translation>键盘快捷键：</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="217"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="217"/>
        <source>Shortcut</source>
        <translation>快捷键</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="220"/>
        <source>About…</source>
        <translation>关于…</translation>
    </message>
</context>
</TS>
