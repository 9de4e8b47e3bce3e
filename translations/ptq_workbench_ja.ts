<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>main</name>
    <message>
        <location filename="../app/workbench_main.cpp" line="47"/>
        <source>usage: ptq-workbench --headless-plot CSV|FILE.db OUT(.png|.svg|.pdf) [Y_TITLE|METRIC]</source>
        <translation>使い方: ptq-workbench --headless-plot CSV|FILE.db 出力(.png|.svg|.pdf) [Y_TITLE|METRIC]</translation>
    </message>
    <message numerus="yes">
        <location filename="../app/workbench_main.cpp" line="69"/>
        <location filename="../app/workbench_main.cpp" line="82"/>
        <source>wrote %1 (%n point(s))</source>
        <translation>
            <numerusform>%1 を書き出しました（%n 点）</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../app/workbench_main.cpp" line="127"/>
        <source>Analysis workbench for post-training quantization</source>
        <translation>学習後量子化の分析ワークベンチ</translation>
    </message>
    <message>
        <location filename="../app/workbench_main.cpp" line="132"/>
        <source>A checkpoint folder to open.</source>
        <translation>開くチェックポイントフォルダ。</translation>
    </message>
</context>
<context>
    <name>ptq::DisplayFormat</name>
    <message>
        <location filename="../ui/display_format.cpp" line="37"/>
        <source>%1 (%2 bytes)</source>
        <translation>%1（%2 バイト）</translation>
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
        <translation>%1 時間 %2 分</translation>
    </message>
</context>
<context>
    <name>ptq::ExperimentPanel</name>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="42"/>
        <source>Baseline</source>
        <translation>ベースライン</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="44"/>
        <source>Compensation</source>
        <translation>誤差補償</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="46"/>
        <source>Rotation</source>
        <translation>回転</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="48"/>
        <source>Salience</source>
        <translation>顕著性</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="50"/>
        <source>Optimization</source>
        <translation>最適化</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="52"/>
        <source>Combinations</source>
        <translation>組み合わせ</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="58"/>
        <source>per channel</source>
        <translation>チャネル単位</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="58"/>
        <source>g%1</source>
        <translation>g%1</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="150"/>
        <source>Calibration text</source>
        <translation>キャリブレーション用テキスト</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="174"/>
        <source>Evaluation texts</source>
        <translation>評価用テキスト</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="174"/>
        <source>Text files (*.txt);;All files (*)</source>
        <translation>テキストファイル (*.txt);;すべてのファイル (*)</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="177"/>
        <source>Zero-shot task files</source>
        <translation>ゼロショットタスクファイル</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="177"/>
        <source>JSON Lines (*.jsonl);;All files (*)</source>
        <translation>JSON Lines (*.jsonl);;すべてのファイル (*)</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="473"/>
        <source>choose at least one model</source>
        <translation>モデルを 1 つ以上選択してください</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="475"/>
        <source>choose at least one strategy</source>
        <translation>戦略を 1 つ以上選択してください</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="477"/>
        <source>choose at least one weight bit width and group size</source>
        <translation>重みのビット幅とグループサイズを 1 つ以上選択してください</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="479"/>
        <source>choose activation and KV-cache bits (16 = not quantized)</source>
        <translation>活性化と KV キャッシュのビット数を選択してください（16 = 量子化なし）</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="482"/>
        <source>choose a calibration text</source>
        <translation>キャリブレーション用テキストを選択してください</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="485"/>
        <source>the calibration text %1 does not exist</source>
        <translation>キャリブレーション用テキスト %1 が存在しません</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="487"/>
        <source>choose an evaluation text or a zero-shot task file</source>
        <translation>評価用テキストまたはゼロショットタスクファイルを選択してください</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="519"/>
        <source>1 run</source>
        <translation>1 件の実行</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="519"/>
        <source>%1 runs</source>
        <translation>%1 件の実行</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="522"/>
        <source>estimated time %1</source>
        <translation>推定時間 %1</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="539"/>
        <source>Models</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="540"/>
        <source>Data</source>
        <translation>データ</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="541"/>
        <source>Calibration:</source>
        <translation>キャリブレーション:</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="542"/>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="543"/>
        <source>Samples × tokens:</source>
        <translation>サンプル数 × トークン数:</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="544"/>
        <source>Evaluation texts:</source>
        <translation>評価用テキスト:</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="545"/>
        <location filename="../ui/experiment_panel.cpp" line="549"/>
        <source>Add…</source>
        <translation>追加…</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="546"/>
        <location filename="../ui/experiment_panel.cpp" line="550"/>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="547"/>
        <source>Windows (0 = all) × tokens:</source>
        <translation>ウィンドウ数（0 = すべて）× トークン数:</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="548"/>
        <source>Zero-shot tasks:</source>
        <translation>ゼロショットタスク:</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="551"/>
        <source>Strategies</source>
        <translation>戦略</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="552"/>
        <source>Strategy</source>
        <translation>戦略</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="552"/>
        <source>Description</source>
        <translation>説明</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="557"/>
        <source>Bit widths</source>
        <translation>ビット幅</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="560"/>
        <source>W%1</source>
        <translation>W%1</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="565"/>
        <source>Activation bits:</source>
        <translation>活性化ビット数:</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="566"/>
        <source>KV-cache bits:</source>
        <translation>KV キャッシュビット数:</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="569"/>
        <source>16 (none)</source>
        <translation>16（なし）</translation>
    </message>
    <message>
        <location filename="../ui/experiment_panel.cpp" line="571"/>
        <source>Queue runs</source>
        <translation>実行をキューに追加</translation>
    </message>
</context>
<context>
    <name>ptq::ExportDialog</name>
    <message>
        <location filename="../ui/export_dialog.cpp" line="99"/>
        <location filename="../ui/export_dialog.cpp" line="179"/>
        <source>Export figure</source>
        <translation>図の書き出し</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="100"/>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="101"/>
        <source>File:</source>
        <translation>ファイル:</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="102"/>
        <source>Format:</source>
        <translation>形式:</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="103"/>
        <source>Preset:</source>
        <translation>プリセット:</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="104"/>
        <source>Width:</source>
        <translation>幅:</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="105"/>
        <source>Height / width:</source>
        <translation>高さ / 幅:</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="106"/>
        <source>Resolution (PNG, dpi):</source>
        <translation>解像度（PNG、dpi）:</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="107"/>
        <source>Font size:</source>
        <translation>フォントサイズ:</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="168"/>
        <source>choose a .pdf, .svg or .png file</source>
        <translation>.pdf、.svg、.png のいずれかのファイルを選択してください</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="169"/>
        <source>PDF (vector)</source>
        <translation>PDF（ベクター）</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="170"/>
        <source>SVG (vector)</source>
        <translation>SVG（ベクター）</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="171"/>
        <source>PNG (raster)</source>
        <translation>PNG（ラスター）</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="179"/>
        <source>PDF (*.pdf);;SVG (*.svg);;PNG image (*.png)</source>
        <translation>PDF (*.pdf);;SVG (*.svg);;PNG 画像 (*.png)</translation>
    </message>
    <message>
        <location filename="../ui/export_dialog.cpp" line="194"/>
        <source>Choose a file to write.</source>
        <translation>書き出すファイルを選択してください。</translation>
    </message>
</context>
<context>
    <name>ptq::FigureExport</name>
    <message>
        <location filename="../plots/figure_export.cpp" line="91"/>
        <source>Single column (3.5 in)</source>
        <translation>1 段組（3.5 in）</translation>
    </message>
    <message>
        <location filename="../plots/figure_export.cpp" line="93"/>
        <source>Double column (7 in)</source>
        <translation>2 段組（7 in）</translation>
    </message>
    <message>
        <location filename="../plots/figure_export.cpp" line="97"/>
        <source>Custom width</source>
        <translation>カスタム幅</translation>
    </message>
    <message>
        <location filename="../plots/figure_export.cpp" line="107"/>
        <source>Cannot write figure to %1: unknown extension (use .pdf, .svg or .png)</source>
        <translation>図を %1 に書き出せません: 不明な拡張子です（.pdf、.svg、.png を使用してください）</translation>
    </message>
    <message>
        <location filename="../plots/figure_export.cpp" line="118"/>
        <source>Cannot write figure to %1: the font size must be positive</source>
        <translation>図を %1 に書き出せません: フォントサイズは正の値でなければなりません</translation>
    </message>
</context>
<context>
    <name>ptq::JobRunner</name>
    <message>
        <location filename="../ui/job_runner.cpp" line="147"/>
        <location filename="../ui/job_runner.cpp" line="163"/>
        <source>No results database is open.</source>
        <translation>結果データベースが開かれていません。</translation>
    </message>
    <message>
        <location filename="../ui/job_runner.cpp" line="149"/>
        <location filename="../ui/job_runner.cpp" line="165"/>
        <source>The job runner is shutting down.</source>
        <translation>ジョブランナーは終了処理中です。</translation>
    </message>
    <message>
        <location filename="../ui/job_runner.cpp" line="365"/>
        <source>%1 is already in the queue.</source>
        <translation>%1 は既にキューにあります。</translation>
    </message>
    <message>
        <location filename="../ui/job_runner.cpp" line="367"/>
        <source>%1 is running in another process.</source>
        <translation>%1 は別のプロセスで実行中です。</translation>
    </message>
</context>
<context>
    <name>ptq::LayerInspector</name>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="220"/>
        <source>Model:</source>
        <translation>モデル:</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="221"/>
        <source>Error measure:</source>
        <translation>誤差指標:</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="222"/>
        <source>Log colour scale</source>
        <translation>対数カラースケール</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="223"/>
        <source>Export figure…</source>
        <translation>図を書き出す…</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="224"/>
        <source>Heatmap</source>
        <translation>ヒートマップ</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="225"/>
        <source>Along the layers</source>
        <translation>層に沿った推移</translation>
    </message>
    <message>
        <source>Experts</source>
        <translation>エキスパート</translation>
    </message>
    <message>
        <source>Layers × experts of the selected run</source>
        <translation>選択した実行の層 × エキスパート</translation>
    </message>
    <message>
        <source>Experts across runs (mean over layers)</source>
        <translation>実行間のエキスパート比較（層の平均）</translation>
    </message>
    <message>
        <source>No Mixture-of-Experts run among the runs shown.</source>
        <translation>表示中の実行に Mixture-of-Experts の実行はありません。</translation>
    </message>
    <message>
        <source>expert %1</source>
        <translation>エキスパート %1</translation>
    </message>
    <message>
        <source>Calibration tokens</source>
        <translation>キャリブレーション・トークン数</translation>
    </message>
    <message>
        <source>Input max. |x|</source>
        <translation>入力の最大 |x|</translation>
    </message>
    <message>
        <source>Input outlier ratio</source>
        <translation>入力の外れ値比</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="230"/>
        <location filename="../ui/layer_inspector.cpp" line="310"/>
        <source>all models</source>
        <translation>すべてのモデル</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="292"/>
        <source>Cannot read the results database %1: %2</source>
        <translation>結果データベース %1 を読み込めません: %2</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="419"/>
        <source>Layer</source>
        <translation>層</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="438"/>
        <source>Layer %1</source>
        <translation>層 %1</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="438"/>
        <source>Select a layer</source>
        <translation>層を選択してください</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="457"/>
        <source>Run</source>
        <translation>実行</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="460"/>
        <source>bytes</source>
        <translation>バイト</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="518"/>
        <source>Run #%1, %2 = %3: rank %4 of %5 layers (1 = largest); min %6, median %7, max %8; output error %9, %10 s</source>
        <translation>実行 #%1、%2 = %3: %5 層中 %4 位（1 = 最大）; 最小 %6、中央値 %7、最大 %8; 出力誤差 %9、%10 秒</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="546"/>
        <source>layers</source>
        <translation>層数</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="85"/>
        <source>Relative weight error</source>
        <translation>相対重み誤差</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="87"/>
        <source>Output error</source>
        <translation>出力誤差</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="89"/>
        <source>Method loss</source>
        <translation>手法の損失</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="91"/>
        <source>Max. abs. error</source>
        <translation>最大絶対誤差</translation>
    </message>
    <message>
        <location filename="../ui/layer_inspector.cpp" line="93"/>
        <source>Time (s)</source>
        <translation>時間 (秒)</translation>
    </message>
</context>
<context>
    <name>ptq::MainWindow</name>
    <message>
        <location filename="../ui/main_window.cpp" line="105"/>
        <source>Ready</source>
        <translation>準備完了</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="184"/>
        <source>Reading %1…</source>
        <translation>%1 を読み込み中…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="188"/>
        <source>Could not open the model: %1</source>
        <translation>モデルを開けませんでした: %1</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="218"/>
        <source>Opened %1</source>
        <translation>%1 を開きました</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="266"/>
        <source>PTQ Workbench</source>
        <translation>PTQ ワークベンチ</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="193"/>
        <source>Nothing was queued</source>
        <translation>キューに追加されたものはありません</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="194"/>
        <source>Runs not queued</source>
        <translation>実行をキューに追加できませんでした</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="199"/>
        <source>Run %1 failed: %2</source>
        <translation>実行 %1 が失敗しました: %2</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="201"/>
        <source>Run %1 finished</source>
        <translation>実行 %1 が完了しました</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="212"/>
        <source>Queueing %1…</source>
        <translation>%1 をキューに追加中…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="213"/>
        <source>1 run</source>
        <translation>1 件の実行</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="213"/>
        <source>%1 runs</source>
        <translation>%1 件の実行</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="232"/>
        <source>Open results database</source>
        <translation>結果データベースを開く</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="233"/>
        <source>SQLite files (*.db);;All files (*)</source>
        <translation>SQLite ファイル (*.db);;すべてのファイル (*)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="261"/>
        <source>Database: %1</source>
        <translation>データベース: %1</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="267"/>
        <source>Models</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="268"/>
        <source>Experiment</source>
        <translation>実験</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="269"/>
        <source>Run queue</source>
        <translation>実行キュー</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="270"/>
        <source>Results</source>
        <translation>結果</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="271"/>
        <source>Layer inspector</source>
        <translation>層インスペクタ</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="272"/>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="273"/>
        <source>&amp;Open model folder…</source>
        <translation>モデルフォルダを開く(&amp;O)…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="274"/>
        <source>Open results &amp;database…</source>
        <translation>結果データベースを開く(&amp;D)…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="275"/>
        <source>&amp;Settings…</source>
        <translation>設定(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="276"/>
        <source>&amp;Quit</source>
        <translation>終了(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="277"/>
        <source>&amp;Run</source>
        <translation>実行(&amp;R)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="278"/>
        <source>&amp;Queue runs</source>
        <translation>実行をキューに追加(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="279"/>
        <source>&amp;Cancel all runs</source>
        <translation>すべての実行をキャンセル(&amp;C)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="281"/>
        <source>&amp;Language</source>
        <translation>言語(&amp;L)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="282"/>
        <source>&amp;Help</source>
        <translation>ヘルプ(&amp;H)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="283"/>
        <source>&amp;About PTQ Workbench</source>
        <translation>PTQ ワークベンチについて(&amp;A)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="284"/>
        <source>About &amp;Qt</source>
        <translation>Qt について(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="298"/>
        <source>Stopping the current run; it can be resumed later…</source>
        <translation>現在の実行を停止しています。後で再開できます…</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="306"/>
        <source>&lt;h3&gt;PTQ Workbench %1&lt;/h3&gt;&lt;p&gt;Post-training quantization of large language models: measure size, perplexity and error per layer, and compare methods on their Pareto front.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;PTQ ワークベンチ %1&lt;/h3&gt;&lt;p&gt;大規模言語モデルの学習後量子化: サイズ、パープレキシティ、層ごとの誤差を測定し、手法をパレートフロント上で比較します。&lt;/p&gt;</translation>
    </message>
    <message>
        <location filename="../ui/main_window.cpp" line="311"/>
        <source>About PTQ Workbench</source>
        <translation>PTQ ワークベンチについて</translation>
    </message>
</context>
<context>
    <name>ptq::ModelPanel</name>
    <message>
        <location filename="../ui/model_panel.cpp" line="172"/>
        <source>Bundled family</source>
        <translation>同梱モデルファミリー</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="176"/>
        <source>Recent</source>
        <translation>最近使用したモデル</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="196"/>
        <source>Models:</source>
        <translation>モデル:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="198"/>
        <source>Open folder…</source>
        <translation>フォルダを開く…</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="199"/>
        <source>Choose a Hugging Face checkpoint folder (Ctrl+O)</source>
        <translation>Hugging Face のチェックポイントフォルダを選択します (Ctrl+O)</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="200"/>
        <source>Open or drop a folder holding config.json and model.safetensors.</source>
        <translation>config.json と model.safetensors を含むフォルダを開くか、ここにドロップしてください。</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="201"/>
        <source>Architecture:</source>
        <translation>アーキテクチャ:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="202"/>
        <source>Parameters:</source>
        <translation>パラメータ数:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="203"/>
        <source>Data type:</source>
        <translation>データ型:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="204"/>
        <source>Layers:</source>
        <translation>層数:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="205"/>
        <source>Hidden size:</source>
        <translation>隠れ層サイズ:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="206"/>
        <source>Heads / KV heads:</source>
        <translation>ヘッド数 / KV ヘッド数:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="207"/>
        <source>Vocabulary:</source>
        <translation>語彙数:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="208"/>
        <source>Size on disk:</source>
        <translation>ディスク上のサイズ:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="209"/>
        <source>Shards:</source>
        <translation>シャード数:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="210"/>
        <source>Tokenizer:</source>
        <translation>トークナイザ:</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="224"/>
        <source>Open model folder</source>
        <translation>モデルフォルダを開く</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="294"/>
        <source>No model open.</source>
        <translation>モデルが開かれていません。</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="296"/>
        <source>Reading %1…</source>
        <translation>%1 を読み込み中…</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="302"/>
        <source>Could not open the model: %1</source>
        <translation>モデルを開けませんでした: %1</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="319"/>
        <source>yes (tokenizer.json)</source>
        <translation>あり (tokenizer.json)</translation>
    </message>
    <message>
        <source>none (state space: %1 states × %2 channels)</source>
        <translation>なし(状態空間: %1 状態 × %2 チャネル)</translation>
    </message>
    <message>
        <location filename="../ui/model_panel.cpp" line="319"/>
        <source>no</source>
        <translation>なし</translation>
    </message>
</context>
<context>
    <name>ptq::PlotExport</name>
    <message>
        <location filename="../plots/plot_export.cpp" line="20"/>
        <source>Cannot write plot to %1: %2</source>
        <translation>グラフを %1 に書き出せません: %2</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="112"/>
        <source>no plot</source>
        <translation>グラフがありません</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="114"/>
        <source>width, resolution and aspect must be positive</source>
        <translation>幅、解像度、縦横比は正の値でなければなりません</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="118"/>
        <source>the figure is too small</source>
        <translation>図が小さすぎます</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="134"/>
        <source>the file could not be written</source>
        <translation>ファイルを書き込めませんでした</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="145"/>
        <source>unknown extension (use .png, .svg or .pdf)</source>
        <translation>不明な拡張子です（.png、.svg、.pdf を使用してください）</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="150"/>
        <source>Size (MB)</source>
        <translation>サイズ (MB)</translation>
    </message>
    <message>
        <location filename="../plots/plot_export.cpp" line="151"/>
        <source>Metric</source>
        <translation>指標</translation>
    </message>
</context>
<context>
    <name>ptq::ResultsModel</name>
    <message>
        <location filename="../ui/results_model.cpp" line="40"/>
        <source>queued</source>
        <translation>待機中</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="42"/>
        <source>running</source>
        <translation>実行中</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="44"/>
        <source>done</source>
        <translation>完了</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="46"/>
        <source>failed</source>
        <translation>失敗</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="48"/>
        <source>cancelled</source>
        <translation>キャンセル済み</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="50"/>
        <source>interrupted</source>
        <translation>中断</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="58"/>
        <source>channel</source>
        <translation>チャネル</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="60"/>
        <source>tensor</source>
        <translation>テンソル</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="201"/>
        <source>Run</source>
        <translation>実行</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="203"/>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="205"/>
        <source>Recipe</source>
        <translation>レシピ</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="207"/>
        <source>Status</source>
        <translation>状態</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="209"/>
        <source>W bits</source>
        <translation>W ビット数</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="211"/>
        <source>A bits</source>
        <translation>A ビット数</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="213"/>
        <source>KV bits</source>
        <translation>KV ビット数</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="215"/>
        <source>Group</source>
        <translation>グループ</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="217"/>
        <source>Bits/weight</source>
        <translation>ビット/重み</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="219"/>
        <source>Size (MB)</source>
        <translation>サイズ (MB)</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="221"/>
        <source>Perplexity</source>
        <translation>パープレキシティ</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="223"/>
        <source>FP perplexity</source>
        <translation>FP パープレキシティ</translation>
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
        <translation>正解率</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="231"/>
        <source>Quantize (s)</source>
        <translation>量子化 (秒)</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="233"/>
        <source>Eval (s)</source>
        <translation>評価 (秒)</translation>
    </message>
    <message>
        <location filename="../ui/results_model.cpp" line="235"/>
        <source>Finished</source>
        <translation>完了日時</translation>
    </message>
</context>
<context>
    <name>ptq::ResultsPanel</name>
    <message>
        <source>Active size per token (MB)</source>
        <translation>トークンあたりのアクティブサイズ (MB)</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="211"/>
        <source>Metric:</source>
        <translation>指標:</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="212"/>
        <source>Dataset:</source>
        <translation>データセット:</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="213"/>
        <source>x axis:</source>
        <translation>x 軸:</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="214"/>
        <source>Size (MB)</source>
        <translation>サイズ (MB)</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="215"/>
        <source>Bits per weight</source>
        <translation>重みあたりのビット数</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="216"/>
        <source>Log x</source>
        <translation>対数 x</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="217"/>
        <source>Log y</source>
        <translation>対数 y</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="218"/>
        <source>Front:</source>
        <translation>フロント:</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="219"/>
        <source>none</source>
        <translation>なし</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="220"/>
        <source>overall</source>
        <translation>全体</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="221"/>
        <source>per strategy</source>
        <translation>戦略ごと</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="222"/>
        <source>Lines per model</source>
        <translation>モデルごとに線を分ける</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="223"/>
        <source>Metric vs bits: one line per strategy and model</source>
        <translation>指標とビット数: 戦略とモデルごとに 1 本の線</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="224"/>
        <source>Model:</source>
        <translation>モデル:</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="225"/>
        <source>Status:</source>
        <translation>状態:</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="226"/>
        <source>any</source>
        <translation>すべて</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="227"/>
        <source>done</source>
        <translation>完了</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="227"/>
        <source>failed</source>
        <translation>失敗</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="228"/>
        <source>running</source>
        <translation>実行中</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="228"/>
        <source>queued</source>
        <translation>待機中</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="229"/>
        <source>cancelled</source>
        <translation>キャンセル済み</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="229"/>
        <source>interrupted</source>
        <translation>中断</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="232"/>
        <source>Filter runs (any column)…</source>
        <translation>実行を絞り込む（任意の列）…</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="233"/>
        <source>Export figure…</source>
        <translation>図を書き出す…</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="234"/>
        <source>Export table…</source>
        <translation>表を書き出す…</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="235"/>
        <source>Export data…</source>
        <translation>データを書き出す…</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="236"/>
        <source>The numbers behind the current view, as CSV</source>
        <translation>現在の表示の元データを CSV で書き出します</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="237"/>
        <source>Table</source>
        <translation>表</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="238"/>
        <source>Pareto</source>
        <translation>パレート</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="239"/>
        <source>Metric vs bits</source>
        <translation>指標とビット数</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="240"/>
        <source>Model size vs bits</source>
        <translation>モデルサイズとビット数</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="242"/>
        <location filename="../ui/results_panel.cpp" line="314"/>
        <source>all models</source>
        <translation>すべてのモデル</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="294"/>
        <source>Cannot read the results database %1: %2</source>
        <translation>結果データベース %1 を読み込めません: %2</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="342"/>
        <source>(none)</source>
        <translation>（なし）</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="492"/>
        <source>Export table</source>
        <translation>表を書き出す</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="492"/>
        <source>CSV (*.csv);;LaTeX table (*.tex);;JSON (*.json)</source>
        <translation>CSV (*.csv);;LaTeX 表 (*.tex);;JSON (*.json)</translation>
    </message>
    <message>
        <location filename="../ui/results_panel.cpp" line="502"/>
        <source>Export plot data</source>
        <translation>グラフのデータを書き出す</translation>
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
        <translation>重みビット数</translation>
    </message>
</context>
<context>
    <name>ptq::RunParetoPlot</name>
    <message>
        <source>Active size per token (MB, packed)</source>
        <translation>トークンあたりのアクティブサイズ (MB, パック済み)</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="294"/>
        <source>Model size (MB, packed)</source>
        <translation>モデルサイズ（MB、パック後）</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="294"/>
        <source>Bits per weight</source>
        <translation>重みあたりのビット数</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="350"/>
        <source>all runs</source>
        <translation>すべての実行</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="354"/>
        <source>Pareto front</source>
        <translation>パレートフロント</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="355"/>
        <source>front: %1</source>
        <translation>フロント: %1</translation>
    </message>
</context>
<context>
    <name>ptq::RunPlots</name>
    <message>
        <location filename="../plots/run_plots.cpp" line="37"/>
        <source>per channel</source>
        <translation>チャネル単位</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="39"/>
        <source>per tensor</source>
        <translation>テンソル単位</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="45"/>
        <source>size: %1 MB packed, %2 bits/weight</source>
        <translation>サイズ: %1 MB（パック後）、%2 ビット/重み</translation>
    </message>
    <message>
        <location filename="../plots/run_plots.cpp" line="51"/>
        <source>run %1
%2
%3: %4
%5</source>
        <translation>実行 %1
%2
%3: %4
%5</translation>
    </message>
</context>
<context>
    <name>ptq::RunQueuePanel</name>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Job</source>
        <translation>ジョブ</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Status</source>
        <translation>状態</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Stage</source>
        <translation>段階</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Progress</source>
        <translation>進捗</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="124"/>
        <source>Elapsed</source>
        <translation>経過時間</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="125"/>
        <source>ETA</source>
        <translation>残り時間</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="126"/>
        <source>Cancel all</source>
        <translation>すべてキャンセル</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="127"/>
        <source>Stop the running job and remove every queued one</source>
        <translation>実行中のジョブを停止し、キュー内のジョブをすべて削除します</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="128"/>
        <source>Resume interrupted runs</source>
        <translation>中断された実行を再開</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="130"/>
        <source>Queue again every run of the results database that was interrupted or cancelled</source>
        <translation>結果データベース内の中断またはキャンセルされたすべての実行を再びキューに追加します</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="132"/>
        <location filename="../ui/run_queue_panel.cpp" line="200"/>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="149"/>
        <source>queued</source>
        <translation>待機中</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="151"/>
        <source>running</source>
        <translation>実行中</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="153"/>
        <source>done</source>
        <translation>完了</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="155"/>
        <source>failed</source>
        <translation>失敗</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="157"/>
        <source>cancelled</source>
        <translation>キャンセル済み</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="159"/>
        <source>interrupted</source>
        <translation>中断</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="168"/>
        <source>loading</source>
        <translation>読み込み中</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="170"/>
        <source>quantizing</source>
        <translation>量子化中</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="172"/>
        <source>perplexity</source>
        <translation>パープレキシティ</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="174"/>
        <source>perplexity and KL</source>
        <translation>パープレキシティと KL</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="176"/>
        <source>zero-shot tasks</source>
        <translation>ゼロショットタスク</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="180"/>
        <source>block %1/%2</source>
        <translation>ブロック %1/%2</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="215"/>
        <source>done (already in the database)</source>
        <translation>完了（データベースに登録済み）</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="245"/>
        <source>unknown</source>
        <translation>不明</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="321"/>
        <source>No jobs in this session yet.</source>
        <translation>このセッションにはまだジョブがありません。</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="322"/>
        <source>Select a job to see its result or error.</source>
        <translation>ジョブを選択すると、その結果またはエラーが表示されます。</translation>
    </message>
    <message>
        <location filename="../ui/run_queue_panel.cpp" line="360"/>
        <source>There are no interrupted or cancelled runs to resume.</source>
        <translation>再開できる中断済みまたはキャンセル済みの実行はありません。</translation>
    </message>
</context>
<context>
    <name>ptq::SettingsDialog</name>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="118"/>
        <source>Results database</source>
        <translation>結果データベース</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="118"/>
        <source>SQLite files (*.db)</source>
        <translation>SQLite ファイル (*.db)</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="157"/>
        <source>About PTQ Workbench</source>
        <translation>PTQ ワークベンチについて</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="207"/>
        <source>Settings</source>
        <translation>設定</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="208"/>
        <source>Engine threads:</source>
        <translation>エンジンのスレッド数:</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="210"/>
        <source>automatic (one per core: %1)</source>
        <translation>自動（コアごとに 1 つ: %1）</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="211"/>
        <source>Results database:</source>
        <translation>結果データベース:</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="214"/>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="215"/>
        <source>Language:</source>
        <translation>言語:</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="216"/>
        <source>Keyboard shortcuts:</source>
        <translation>キーボードショートカット:</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="217"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="217"/>
        <source>Shortcut</source>
        <translation>ショートカット</translation>
    </message>
    <message>
        <location filename="../ui/settings_dialog.cpp" line="220"/>
        <source>About…</source>
        <translation>バージョン情報…</translation>
    </message>
</context>
</TS>
