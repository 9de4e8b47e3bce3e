<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>main</name>
    <message>
        <source>usage: ptq-workbench --headless-plot CSV OUT(.png|.svg|.pdf)</source>
        <translation>用法：ptq-workbench --headless-plot CSV 输出(.png|.svg|.pdf)</translation>
    </message>
    <message numerus="yes">
        <source>wrote %1 (%n point(s))</source>
        <translation>
            <numerusform>已写入 %1（%n 个点）</numerusform>
        </translation>
    </message>
    <message>
        <source>Analysis workbench for post-training quantization</source>
        <translation>训练后量化分析工作台</translation>
    </message>
    <message>
        <source>A checkpoint folder to open.</source>
        <translation>要打开的检查点文件夹。</translation>
    </message>
</context>
<context>
    <name>ptq::DisplayFormat</name>
    <message>
        <source>%1 (%2 bytes)</source>
        <translation>%1（%2 字节）</translation>
    </message>
</context>
<context>
    <name>ptq::MainWindow</name>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Reading %1…</source>
        <translation>正在读取 %1…</translation>
    </message>
    <message>
        <source>Could not open the model: %1</source>
        <translation>无法打开模型：%1</translation>
    </message>
    <message>
        <source>Plot written to %1</source>
        <translation>图表已写入 %1</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>导出失败</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>已打开 %1</translation>
    </message>
    <message>
        <source>PTQ Workbench</source>
        <translation>PTQ 工作台</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Pareto front</source>
        <translation>帕累托前沿</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Open model folder…</source>
        <translation>打开模型文件夹(&amp;O)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;About PTQ Workbench</source>
        <translation>关于 PTQ 工作台(&amp;A)</translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation>关于 Qt(&amp;Q)</translation>
    </message>
    <message>
        <source>&lt;h3&gt;PTQ Workbench %1&lt;/h3&gt;&lt;p&gt;Post-training quantization of large language models: measure size, perplexity and error per layer, and compare methods on their Pareto front.&lt;/p&gt;&lt;p&gt;Built with Qt %2 (running on %3) and QCustomPlot %4.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;PTQ 工作台 %1&lt;/h3&gt;&lt;p&gt;大语言模型的训练后量化：测量大小、困惑度和逐层误差，并在帕累托前沿上比较各种方法。&lt;/p&gt;&lt;p&gt;基于 Qt %2（运行于 %3）和 QCustomPlot %4 构建。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>About PTQ Workbench</source>
        <translation>关于 PTQ 工作台</translation>
    </message>
</context>
<context>
    <name>ptq::ModelPanel</name>
    <message>
        <source>Open folder…</source>
        <translation>打开文件夹…</translation>
    </message>
    <message>
        <source>Choose a Hugging Face checkpoint folder (Ctrl+O)</source>
        <translation>选择 Hugging Face 检查点文件夹 (Ctrl+O)</translation>
    </message>
    <message>
        <source>Open or drop a folder holding config.json and model.safetensors.</source>
        <translation>打开或拖放包含 config.json 和 model.safetensors 的文件夹。</translation>
    </message>
    <message>
        <source>Architecture:</source>
        <translation>架构：</translation>
    </message>
    <message>
        <source>Parameters:</source>
        <translation>参数量：</translation>
    </message>
    <message>
        <source>Data type:</source>
        <translation>数据类型：</translation>
    </message>
    <message>
        <source>Layers:</source>
        <translation>层数：</translation>
    </message>
    <message>
        <source>Hidden size:</source>
        <translation>隐藏层大小：</translation>
    </message>
    <message>
        <source>Heads / KV heads:</source>
        <translation>注意力头数 / KV 头数：</translation>
    </message>
    <message>
        <source>Vocabulary:</source>
        <translation>词表大小：</translation>
    </message>
    <message>
        <source>Size on disk:</source>
        <translation>磁盘占用：</translation>
    </message>
    <message>
        <source>Shards:</source>
        <translation>分片数：</translation>
    </message>
    <message>
        <source>Tokenizer:</source>
        <translation>分词器：</translation>
    </message>
    <message>
        <source>Open model folder</source>
        <translation>打开模型文件夹</translation>
    </message>
    <message>
        <source>No model open.</source>
        <translation>未打开模型。</translation>
    </message>
    <message>
        <source>Reading %1…</source>
        <translation>正在读取 %1…</translation>
    </message>
    <message>
        <source>Could not open the model: %1</source>
        <translation>无法打开模型：%1</translation>
    </message>
    <message>
        <source>yes (tokenizer.json)</source>
        <translation>有 (tokenizer.json)</translation>
    </message>
    <message>
        <source>no</source>
        <translation>无</translation>
    </message>
</context>
<context>
    <name>ptq::ParetoPanel</name>
    <message>
        <source>Size (MB)</source>
        <translation>大小 (MB)</translation>
    </message>
    <message>
        <source>Metric (lower is better)</source>
        <translation>指标（越低越好）</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Each point is one quantized model; the line joins the Pareto front.</source>
        <translation>每个点代表一个量化模型，折线连接帕累托前沿。</translation>
    </message>
    <message>
        <source>Export plot</source>
        <translation>导出图表</translation>
    </message>
    <message>
        <source>Images (*.png *.svg *.pdf)</source>
        <translation>图像 (*.png *.svg *.pdf)</translation>
    </message>
    <message>
        <source>Unknown file type for %1: use .png, .svg or .pdf.</source>
        <translation>%1 的文件类型未知：请使用 .png、.svg 或 .pdf。</translation>
    </message>
</context>
<context>
    <name>ptq::PlotExport</name>
    <message>
        <source>Cannot write plot to %1: %2</source>
        <translation>无法将图表写入 %1：%2</translation>
    </message>
    <message>
        <source>no plot</source>
        <translation>没有图表</translation>
    </message>
    <message>
        <source>width, resolution and aspect must be positive</source>
        <translation>宽度、分辨率和宽高比必须为正数</translation>
    </message>
    <message>
        <source>the figure is too small</source>
        <translation>图太小</translation>
    </message>
    <message>
        <source>the file could not be written</source>
        <translation>无法写入文件</translation>
    </message>
    <message>
        <source>unknown extension (use .png, .svg or .pdf)</source>
        <translation>未知的扩展名（请使用 .png、.svg 或 .pdf）</translation>
    </message>
    <message>
        <source>Size (MB)</source>
        <translation>大小 (MB)</translation>
    </message>
    <message>
        <source>Metric</source>
        <translation>指标</translation>
    </message>
</context>
</TS>
