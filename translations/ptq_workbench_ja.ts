<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>main</name>
    <message>
        <source>usage: ptq-workbench --headless-plot CSV OUT(.png|.svg|.pdf)</source>
        <translation>使い方: ptq-workbench --headless-plot CSV 出力(.png|.svg|.pdf)</translation>
    </message>
    <message numerus="yes">
        <source>wrote %1 (%n point(s))</source>
        <translation>
            <numerusform>%1 を書き出しました（%n 点）</numerusform>
        </translation>
    </message>
    <message>
        <source>Analysis workbench for post-training quantization</source>
        <translation>学習後量子化の分析ワークベンチ</translation>
    </message>
    <message>
        <source>A checkpoint folder to open.</source>
        <translation>開くチェックポイントフォルダ。</translation>
    </message>
</context>
<context>
    <name>ptq::DisplayFormat</name>
    <message>
        <source>%1 (%2 bytes)</source>
        <translation>%1（%2 バイト）</translation>
    </message>
</context>
<context>
    <name>ptq::MainWindow</name>
    <message>
        <source>Ready</source>
        <translation>準備完了</translation>
    </message>
    <message>
        <source>Reading %1…</source>
        <translation>%1 を読み込み中…</translation>
    </message>
    <message>
        <source>Could not open the model: %1</source>
        <translation>モデルを開けませんでした: %1</translation>
    </message>
    <message>
        <source>Plot written to %1</source>
        <translation>グラフを %1 に書き出しました</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>書き出しに失敗しました</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>%1 を開きました</translation>
    </message>
    <message>
        <source>PTQ Workbench</source>
        <translation>PTQ ワークベンチ</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <source>Pareto front</source>
        <translation>パレートフロント</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Open model folder…</source>
        <translation>モデルフォルダを開く(&amp;O)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>終了(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>言語(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>ヘルプ(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;About PTQ Workbench</source>
        <translation>PTQ ワークベンチについて(&amp;A)</translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation>Qt について(&amp;Q)</translation>
    </message>
    <message>
        <source>&lt;h3&gt;PTQ Workbench %1&lt;/h3&gt;&lt;p&gt;Post-training quantization of large language models: measure size, perplexity and error per layer, and compare methods on their Pareto front.&lt;/p&gt;&lt;p&gt;Built with Qt %2 (running on %3) and QCustomPlot %4.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;PTQ ワークベンチ %1&lt;/h3&gt;&lt;p&gt;大規模言語モデルの学習後量子化: サイズ、パープレキシティ、層ごとの誤差を測定し、手法をパレートフロント上で比較します。&lt;/p&gt;&lt;p&gt;Qt %2（実行環境 %3）と QCustomPlot %4 でビルドされています。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>About PTQ Workbench</source>
        <translation>PTQ ワークベンチについて</translation>
    </message>
</context>
<context>
    <name>ptq::ModelPanel</name>
    <message>
        <source>Open folder…</source>
        <translation>フォルダを開く…</translation>
    </message>
    <message>
        <source>Choose a Hugging Face checkpoint folder (Ctrl+O)</source>
        <translation>Hugging Face のチェックポイントフォルダを選択します (Ctrl+O)</translation>
    </message>
    <message>
        <source>Open or drop a folder holding config.json and model.safetensors.</source>
        <translation>config.json と model.safetensors を含むフォルダを開くか、ここにドロップしてください。</translation>
    </message>
    <message>
        <source>Architecture:</source>
        <translation>アーキテクチャ:</translation>
    </message>
    <message>
        <source>Parameters:</source>
        <translation>パラメータ数:</translation>
    </message>
    <message>
        <source>Data type:</source>
        <translation>データ型:</translation>
    </message>
    <message>
        <source>Layers:</source>
        <translation>層数:</translation>
    </message>
    <message>
        <source>Hidden size:</source>
        <translation>隠れ層サイズ:</translation>
    </message>
    <message>
        <source>Heads / KV heads:</source>
        <translation>ヘッド数 / KV ヘッド数:</translation>
    </message>
    <message>
        <source>Vocabulary:</source>
        <translation>語彙数:</translation>
    </message>
    <message>
        <source>Size on disk:</source>
        <translation>ディスク上のサイズ:</translation>
    </message>
    <message>
        <source>Shards:</source>
        <translation>シャード数:</translation>
    </message>
    <message>
        <source>Tokenizer:</source>
        <translation>トークナイザ:</translation>
    </message>
    <message>
        <source>Open model folder</source>
        <translation>モデルフォルダを開く</translation>
    </message>
    <message>
        <source>No model open.</source>
        <translation>モデルが開かれていません。</translation>
    </message>
    <message>
        <source>Reading %1…</source>
        <translation>%1 を読み込み中…</translation>
    </message>
    <message>
        <source>Could not open the model: %1</source>
        <translation>モデルを開けませんでした: %1</translation>
    </message>
    <message>
        <source>yes (tokenizer.json)</source>
        <translation>あり (tokenizer.json)</translation>
    </message>
    <message>
        <source>no</source>
        <translation>なし</translation>
    </message>
</context>
<context>
    <name>ptq::ParetoPanel</name>
    <message>
        <source>Size (MB)</source>
        <translation>サイズ (MB)</translation>
    </message>
    <message>
        <source>Metric (lower is better)</source>
        <translation>指標（低いほど良い）</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>書き出し…</translation>
    </message>
    <message>
        <source>Each point is one quantized model; the line joins the Pareto front.</source>
        <translation>各点が一つの量子化モデルを表し、線はパレートフロントを結びます。</translation>
    </message>
    <message>
        <source>Export plot</source>
        <translation>グラフを書き出す</translation>
    </message>
    <message>
        <source>Images (*.png *.svg *.pdf)</source>
        <translation>画像 (*.png *.svg *.pdf)</translation>
    </message>
    <message>
        <source>Unknown file type for %1: use .png, .svg or .pdf.</source>
        <translation>%1 のファイル形式が不明です: .png、.svg、.pdf のいずれかを使ってください。</translation>
    </message>
</context>
<context>
    <name>ptq::PlotExport</name>
    <message>
        <source>Cannot write plot to %1: %2</source>
        <translation>グラフを %1 に書き出せません: %2</translation>
    </message>
    <message>
        <source>no plot</source>
        <translation>グラフがありません</translation>
    </message>
    <message>
        <source>width, resolution and aspect must be positive</source>
        <translation>幅、解像度、縦横比は正の値でなければなりません</translation>
    </message>
    <message>
        <source>the figure is too small</source>
        <translation>図が小さすぎます</translation>
    </message>
    <message>
        <source>the file could not be written</source>
        <translation>ファイルを書き込めませんでした</translation>
    </message>
    <message>
        <source>unknown extension (use .png, .svg or .pdf)</source>
        <translation>不明な拡張子です（.png、.svg、.pdf を使用してください）</translation>
    </message>
    <message>
        <source>Size (MB)</source>
        <translation>サイズ (MB)</translation>
    </message>
    <message>
        <source>Metric</source>
        <translation>指標</translation>
    </message>
</context>
</TS>
