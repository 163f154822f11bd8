//! Charts: every chart renders to PNG and SVG, text is really drawn (non-background pixels where
//! the title and axis labels go), the PNG decodes to the rendered pixels, output is
//! deterministic, and empty or bad input is a clear error, never a panic or a blank file.

use std::path::PathBuf;

use fellegi::plot::{
    self, Chart, ComparisonParams, EmSession, EmStep, Format, Interval, IntervalChart,
    IntervalSeries, LevelParams, ModelParams, PlotError, PrPoint, RgbImage, RocPoint, RuleCount,
    Waterfall, WaterfallTerm, XyChart, XyPoint, XySeries,
};

// ---------------------------------------------------------------------------------------------
// Small realistic data

/// Deterministic pseudo-random numbers in [0, 1) (xorshift), so the test needs no RNG crate.
fn uniforms(seed: u64, n: usize) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn model() -> ModelParams {
    let lv = |label: &str, m: f64, u: f64| LevelParams {
        label: label.into(),
        m,
        u,
    };
    ModelParams {
        lambda: 0.0123,
        comparisons: vec![
            ComparisonParams {
                name: "first_name".into(),
                levels: vec![
                    lv("exact", 0.82, 0.004),
                    lv("jaro_winkler >= 0.92", 0.11, 0.012),
                    lv("jaro_winkler >= 0.80", 0.04, 0.08),
                    lv("else", 0.03, 0.904),
                ],
            },
            ComparisonParams {
                name: "surname".into(),
                levels: vec![
                    lv("exact", 0.88, 0.002),
                    lv("double metaphone", 0.07, 0.01),
                    lv("else", 0.05, 0.988),
                ],
            },
            ComparisonParams {
                name: "date_of_birth".into(),
                levels: vec![lv("exact", 0.93, 0.0009), lv("else", 0.07, 0.9991)],
            },
        ],
    }
}

fn waterfall_data() -> Waterfall {
    let m = model();
    let pick = [0usize, 1, 1];
    Waterfall {
        pair_label: Some("pair a17 – b203".into()),
        prior_weight: m.prior_weight(),
        terms: m
            .comparisons
            .iter()
            .zip(pick)
            .map(|(c, l)| WaterfallTerm {
                name: c.name.clone(),
                level_label: c.levels[l].label.clone(),
                weight: c.levels[l].weight(),
            })
            .collect(),
    }
}

fn pr_points() -> Vec<PrPoint> {
    (0..=20)
        .map(|i| {
            let t = i as f64 / 20.0;
            PrPoint {
                threshold: t,
                precision: (0.55 + 0.44 * t.powf(0.5)).min(1.0),
                recall: (1.0 - 0.6 * t.powi(3)).max(0.0),
            }
        })
        .collect()
}

fn charts() -> Vec<(&'static str, Chart)> {
    let u = uniforms(7, 4000);
    let non_matches: Vec<f64> = u[..3000]
        .chunks(2)
        .map(|p| -14.0 + 10.0 * (p[0] + p[1]) / 2.0 + 6.0 * p[0])
        .collect();
    let matches: Vec<f64> = u[3000..]
        .chunks(2)
        .map(|p| 6.0 + 14.0 * (p[0] + p[1]) / 2.0)
        .collect();
    let mut hist = plot::match_weight_histogram(matches, non_matches, Some(2.5));
    if let plot::ChartData::WeightHistogram(h) = &mut hist.data {
        h.log_y = true;
    }
    let roc: Vec<RocPoint> = (0..=20)
        .map(|i| {
            let f = i as f64 / 20.0;
            RocPoint {
                fpr: f,
                tpr: f.powf(0.15),
            }
        })
        .collect();
    let sessions = vec![
        EmSession {
            name: "blocked on surname".into(),
            steps: (0..12)
                .map(|i| EmStep {
                    log_likelihood: -52_000.0 + 9_000.0 * (1.0 - (-0.6 * i as f64).exp()),
                    lambda: 0.02 + 0.05 * (1.0 - (-0.5 * i as f64).exp()),
                })
                .collect(),
        },
        EmSession {
            name: "blocked on date_of_birth".into(),
            steps: (0..8)
                .map(|i| EmStep {
                    log_likelihood: -47_000.0 + 4_000.0 * (1.0 - (-0.8 * i as f64).exp()),
                    lambda: 0.1 - 0.03 * (1.0 - (-0.7 * i as f64).exp()),
                })
                .collect(),
        },
    ];
    let rules = vec![
        RuleCount {
            rule: "l.surname = r.surname".into(),
            pairs: 1_254_331,
        },
        RuleCount {
            rule: "l.date_of_birth = r.date_of_birth".into(),
            pairs: 88_410,
        },
        RuleCount {
            rule: "soundex(l.first_name) = soundex(r.first_name) AND l.postcode = r.postcode"
                .into(),
            pairs: 4_502,
        },
        RuleCount {
            rule: "l.email = r.email".into(),
            pairs: 0,
        },
    ];
    vec![
        ("match_weight_histogram", hist),
        ("m_u_chart", plot::m_u_chart(model())),
        ("match_weights_chart", plot::match_weights_chart(model())),
        ("waterfall", plot::waterfall(waterfall_data())),
        ("pr_curve", plot::pr_curve(pr_points())),
        ("roc_curve", plot::roc_curve(roc)),
        ("em_trace", plot::em_trace(sessions)),
        (
            "precision_recall_vs_threshold",
            plot::precision_recall_vs_threshold(pr_points()),
        ),
        (
            "blocking_rule_counts",
            plot::blocking_rule_counts(rules, true),
        ),
        ("interval_chart", plot::interval_chart(interval_data())),
        ("xy_chart", plot::xy_chart(xy_data())),
    ]
}

fn interval_data() -> IntervalChart {
    let iv = |mean: f64, half: f64| {
        Some(Interval {
            mean,
            lo: mean - half,
            hi: (mean + half).min(1.0),
        })
    };
    IntervalChart {
        x_desc: "F1 (mean over 5 seeds, 95 % t-interval)".into(),
        categories: vec![
            "default".into(),
            "binary".into(),
            "missing-as-disagree".into(),
            "rules-only".into(),
        ],
        series: vec![
            IntervalSeries {
                name: "generated-low-5000".into(),
                values: vec![
                    iv(0.999, 0.001),
                    iv(0.95, 0.01),
                    iv(0.998, 0.001),
                    iv(0.8, 0.02),
                ],
            },
            IntervalSeries {
                name: "generated-medium-5000".into(),
                values: vec![iv(0.995, 0.002), iv(0.93, 0.01), None, iv(0.7, 0.03)],
            },
            IntervalSeries {
                name: "generated-high-5000".into(),
                values: vec![
                    iv(0.99, 0.003),
                    iv(0.91, 0.02),
                    iv(0.99, 0.002),
                    iv(0.6, 0.04),
                ],
            },
        ],
    }
}

fn xy_data() -> XyChart {
    let pt = |x: f64, y: f64, label: Option<&str>| XyPoint {
        x,
        y,
        label: label.map(str::to_string),
    };
    XyChart {
        x_desc: "records (log scale)".into(),
        y_desc: "seconds (log scale)".into(),
        log_x: true,
        log_y: true,
        series: vec![
            XySeries {
                name: "fellegi, generated medium".into(),
                points: vec![
                    pt(17_121.0, 0.65, None),
                    pt(170_187.0, 1.86, None),
                    pt(1_189_542.0, 13.3, Some("13.3 s")),
                ],
                line: true,
            },
            XySeries {
                name: "Splink 5".into(),
                points: vec![pt(1_162_717.0, 60.9, Some("Splink 60.9 s"))],
                line: false,
            },
        ],
    }
}

// ---------------------------------------------------------------------------------------------
// Pixel checks

fn is_ink(p: [u8; 3]) -> bool {
    p.iter().any(|&c| c < 200)
}

/// Dark pixels in the rectangle [x0, x1) × [y0, y1).
fn ink(img: &RgbImage, x0: u32, x1: u32, y0: u32, y1: u32) -> usize {
    let mut n = 0;
    for y in y0..y1.min(img.height) {
        for x in x0..x1.min(img.width) {
            if is_ink(img.pixel(x, y)) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn plot_png_has_text_where_title_and_axis_labels_are() {
    for (name, chart) in charts() {
        let img = chart.to_rgb().unwrap_or_else(|e| panic!("{name}: {e}"));
        let (w, h) = (img.width, img.height);
        // Background really is white (the corners), so ink counts mean something.
        assert_eq!(img.pixel(0, 0), [255, 255, 255], "{name}: background");
        assert_eq!(
            img.pixel(w - 1, h - 1),
            [255, 255, 255],
            "{name}: background"
        );
        // Title: the top strip, centred.
        let title = ink(&img, w / 4, 3 * w / 4, 0, 36);
        assert!(title > 150, "{name}: title strip has {title} ink pixels");
        // x-axis description: the bottom strip, below the tick labels.
        let x_desc = ink(&img, w / 4, 3 * w / 4, h - 30, h);
        assert!(
            x_desc > 80,
            "{name}: x-description strip has {x_desc} ink pixels"
        );
        // Tick labels and the x-axis description: the bottom band.
        let bottom = ink(&img, 0, w, h - 70, h);
        assert!(bottom > 300, "{name}: bottom band has {bottom} ink pixels");
        // y-axis description or row labels: the left strip, below the title.
        let left = ink(&img, 0, 50, 40, h - 70);
        assert!(left > 80, "{name}: left strip has {left} ink pixels");
        // Title text is glyphs, not a bar: it has many distinct columns with ink and gaps.
        let cols = (w / 4..3 * w / 4)
            .filter(|&x| (0..36).any(|y| is_ink(img.pixel(x, y))))
            .count();
        assert!(cols > 60, "{name}: title spans only {cols} columns");
    }
}

// A minimal PNG reader (zlib with stored and fixed-Huffman blocks, which is all the encoder
// writes, and the five PNG filters), so the test checks the bytes, not just the buffer.
mod png {
    pub fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    struct Bits<'a> {
        d: &'a [u8],
        pos: usize,
    }

    impl Bits<'_> {
        fn bit(&mut self) -> u32 {
            let b = (self.d[self.pos / 8] >> (self.pos % 8)) & 1;
            self.pos += 1;
            b as u32
        }
        fn bits(&mut self, n: u32) -> u32 {
            (0..n).fold(0, |acc, i| acc | (self.bit() << i))
        }
        fn msb_first(&mut self, n: u32) -> u32 {
            (0..n).fold(0, |acc, _| (acc << 1) | self.bit())
        }
        fn fixed_symbol(&mut self) -> u32 {
            let mut code = 0;
            for len in 1..=9 {
                code = (code << 1) | self.bit();
                match (len, code) {
                    (7, 0..=23) => return 256 + code,
                    (8, 0x30..=0xbf) => return code - 0x30,
                    (8, 0xc0..=0xc7) => return 280 + code - 0xc0,
                    (9, 0x190..=0x1ff) => return 144 + code - 0x190,
                    _ => {}
                }
            }
            panic!("bad fixed Huffman code");
        }
    }

    const LEN_BASE: [u32; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const LEN_EXTRA: [u32; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    const DIST_BASE: [u32; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];

    pub fn inflate_zlib(z: &[u8]) -> Vec<u8> {
        assert_eq!(z[0] & 0x0f, 8, "deflate method");
        assert_eq!(
            ((z[0] as u32) << 8 | z[1] as u32) % 31,
            0,
            "zlib header check"
        );
        let mut r = Bits { d: &z[2..], pos: 0 };
        let mut out: Vec<u8> = Vec::new();
        loop {
            let last = r.bit();
            match r.bits(2) {
                0 => {
                    r.pos = r.pos.div_ceil(8) * 8;
                    let len = r.bits(16) as usize;
                    let nlen = r.bits(16) as usize;
                    assert_eq!(len ^ 0xffff, nlen);
                    for _ in 0..len {
                        out.push(r.bits(8) as u8);
                    }
                }
                1 => loop {
                    let sym = r.fixed_symbol();
                    if sym < 256 {
                        out.push(sym as u8);
                    } else if sym == 256 {
                        break;
                    } else {
                        let i = (sym - 257) as usize;
                        let len = (LEN_BASE[i] + r.bits(LEN_EXTRA[i])) as usize;
                        let dc = r.msb_first(5) as usize;
                        let extra = if dc < 4 { 0 } else { (dc as u32 - 2) / 2 };
                        let dist = (DIST_BASE[dc] + r.bits(extra)) as usize;
                        let start = out.len() - dist;
                        for k in 0..len {
                            out.push(out[start + k]);
                        }
                    }
                },
                t => panic!("unexpected block type {t}"),
            }
            if last == 1 {
                break;
            }
        }
        let end = 2 + r.pos.div_ceil(8);
        let adler = u32::from_be_bytes(z[end..end + 4].try_into().unwrap());
        let (mut a, mut b) = (1u32, 0u32);
        for &x in &out {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler, (b << 16) | a, "Adler-32");
        out
    }

    /// Decodes an 8-bit RGB PNG into (width, height, pixels).
    pub fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "signature");
        let (mut pos, mut w, mut h, mut idat) = (8, 0, 0, Vec::new());
        let mut saw_end = false;
        while pos < png.len() {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            let kind = &png[pos + 4..pos + 8];
            let data = &png[pos + 8..pos + 8 + len];
            let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&png[pos + 4..pos + 8 + len]), "chunk CRC");
            match kind {
                b"IHDR" => {
                    w = u32::from_be_bytes(data[0..4].try_into().unwrap());
                    h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                    assert_eq!(&data[8..13], &[8, 2, 0, 0, 0], "8-bit RGB");
                }
                b"IDAT" => idat.extend_from_slice(data),
                b"IEND" => saw_end = true,
                _ => {}
            }
            pos += 12 + len;
        }
        assert!(saw_end, "IEND");
        let raw = inflate_zlib(&idat);
        let stride = w as usize * 3;
        assert_eq!(raw.len(), (stride + 1) * h as usize, "decompressed size");
        let mut px = vec![0u8; stride * h as usize];
        for y in 0..h as usize {
            let f = raw[y * (stride + 1)];
            for i in 0..stride {
                let x = raw[y * (stride + 1) + 1 + i];
                let a = if i >= 3 { px[y * stride + i - 3] } else { 0 } as i32;
                let b = if y > 0 { px[(y - 1) * stride + i] } else { 0 } as i32;
                let c = if y > 0 && i >= 3 {
                    px[(y - 1) * stride + i - 3]
                } else {
                    0
                } as i32;
                let pred = match f {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => {
                        let p = a + b - c;
                        let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                    _ => panic!("filter {f}"),
                };
                px[y * stride + i] = x.wrapping_add(pred as u8);
            }
        }
        (w, h, px)
    }
}

#[test]
fn plot_png_bytes_decode_to_the_rendered_pixels() {
    for (name, chart) in charts() {
        let img = chart.to_rgb().unwrap();
        let bytes = chart.to_png().unwrap();
        let (w, h, px) = png::decode(&bytes);
        assert_eq!((w, h), (img.width, img.height), "{name}");
        assert!(px == img.data, "{name}: decoded pixels differ");
        // Flat charts compress well: far below the raw size.
        assert!(
            bytes.len() * 8 < img.data.len(),
            "{name}: {} bytes",
            bytes.len()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// SVG checks

/// Checks that every tag is closed in order; returns the number of elements.
fn check_balanced(svg: &str) -> usize {
    let mut stack: Vec<String> = Vec::new();
    let mut n = 0;
    let mut rest = svg;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let j = rest.find('>').expect("unterminated tag");
        let tag = &rest[..j];
        rest = &rest[j + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(close) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("stray </{close}>"));
            assert_eq!(open, close.trim(), "mismatched tags");
        } else {
            n += 1;
            let name = tag.split_whitespace().next().unwrap().trim_end_matches('/');
            if !tag.ends_with('/') {
                stack.push(name.to_string());
            }
        }
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
    n
}

fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|s| {
            let s = &s[s.find('>')? + 1..];
            Some(s[..s.find("</text>")?].trim().to_string())
        })
        .collect()
}

#[test]
fn plot_svg_is_well_formed_and_has_title_and_axis_text() {
    let expected: &[(&str, &[&str])] = &[
        (
            "match_weight_histogram",
            &["match weight", "pairs per bin", "threshold = 2.5"],
        ),
        (
            "m_u_chart",
            &[
                "first_name",
                "jaro_winkler &gt;= 0.92",
                "m = P(level | match)",
            ],
        ),
        (
            "match_weights_chart",
            &["match weight log2(m / u), bits", "prior", "surname"],
        ),
        (
            "waterfall",
            &[
                "cumulative match weight (bits)",
                "prior",
                "final match weight",
            ],
        ),
        ("pr_curve", &["recall", "precision", "21 thresholds"]),
        (
            "roc_curve",
            &["false-positive rate", "true-positive rate", "AUC"],
        ),
        (
            "em_trace",
            &["log-likelihood", "EM iteration", "blocked on surname"],
        ),
        (
            "precision_recall_vs_threshold",
            &["match probability threshold", "F1", "best F1"],
        ),
        (
            "blocking_rule_counts",
            &[
                "candidate pairs (log scale)",
                "l.surname = r.surname",
                "1,254,331",
                "100k",
            ],
        ),
        (
            "interval_chart",
            &[
                "F1 (mean over 5 seeds",
                "missing-as-disagree",
                "generated-high-5000",
                "0.9990",
            ],
        ),
        (
            "xy_chart",
            &[
                "records (log scale)",
                "seconds (log scale)",
                "Splink 60.9 s",
                "1M",
            ],
        ),
    ];
    for ((name, chart), (ename, needles)) in charts().into_iter().zip(expected) {
        assert_eq!(name, *ename);
        let svg = chart.to_svg().unwrap();
        assert!(
            svg.starts_with("<svg"),
            "{name}: starts with {:?}",
            &svg[..20]
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{name}");
        assert!(check_balanced(&svg) > 20, "{name}: too few elements");
        let texts = svg_texts(&svg);
        assert!(
            texts.iter().any(|t| *t == chart.title_text()),
            "{name}: no title in {texts:?}"
        );
        for n in *needles {
            assert!(
                texts.iter().any(|t| t.contains(n)),
                "{name}: no {n:?} in {texts:?}"
            );
        }
        assert!(svg.contains("font-family=\"sans-serif\""), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Determinism, files, errors

#[test]
fn plot_rendering_is_deterministic() {
    for ((name, a), (_, b)) in charts().into_iter().zip(charts()) {
        assert!(
            a.to_svg().unwrap() == b.to_svg().unwrap(),
            "{name}: SVG differs"
        );
        assert!(
            a.to_png().unwrap() == b.to_png().unwrap(),
            "{name}: PNG differs"
        );
    }
}

fn samples_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/plot-samples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn plot_save_picks_the_format_from_the_extension_and_writes_samples() {
    let dir = samples_dir();
    for (name, chart) in charts() {
        let png_path = dir.join(format!("{name}.png"));
        chart.save(&png_path).unwrap();
        let bytes = std::fs::read(&png_path).unwrap();
        assert_eq!(bytes, chart.to_png().unwrap(), "{name}");
        let svg_path = dir.join(format!("{name}.svg"));
        chart.save(&svg_path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&svg_path).unwrap(),
            chart.to_svg().unwrap()
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("chart.jpg");
    let err = plot::pr_curve(pr_points()).save(&bad).unwrap_err();
    assert!(matches!(err, PlotError::Format { .. }), "{err}");
    assert!(!bad.exists());
    assert_eq!(Format::from_path("a/B.SVG".as_ref()).unwrap(), Format::Svg);
    // An unwritable path is an I/O error, which maps into the crate's error.
    let err = plot::pr_curve(pr_points())
        .save(tmp.path().join("missing/dir/x.png"))
        .unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err}");
    assert!(matches!(
        fellegi::Error::from(err),
        fellegi::Error::Io { .. }
    ));
}

#[test]
fn plot_empty_input_is_a_clear_error_and_never_writes_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let empty: Vec<(Chart, &str)> = vec![
        (
            plot::match_weight_histogram(vec![], vec![], Some(1.0)),
            "no scored pairs",
        ),
        (
            plot::m_u_chart(ModelParams {
                lambda: 0.1,
                comparisons: vec![],
            }),
            "no comparisons",
        ),
        (
            plot::match_weights_chart(ModelParams {
                lambda: 0.1,
                comparisons: vec![ComparisonParams {
                    name: "city".into(),
                    levels: vec![],
                }],
            }),
            "`city` has no non-null levels",
        ),
        (plot::pr_curve(vec![]), "no points"),
        (plot::roc_curve(vec![]), "no points"),
        (plot::precision_recall_vs_threshold(vec![]), "no points"),
        (
            plot::em_trace(vec![EmSession {
                name: "s".into(),
                steps: vec![],
            }]),
            "no EM iterations",
        ),
        (plot::em_trace(vec![]), "no EM iterations"),
        (
            plot::blocking_rule_counts(vec![], false),
            "no blocking rules",
        ),
    ];
    for (chart, needle) in empty {
        let path = tmp.path().join("out.png");
        for r in [
            chart.to_svg().map(|_| ()),
            chart.to_png().map(|_| ()),
            chart.save(&path),
        ] {
            let err = r.unwrap_err();
            assert!(matches!(err, PlotError::NoData { .. }), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        assert!(!path.exists());
    }
}

#[test]
fn plot_degenerate_but_valid_input_renders() {
    let one_level = ModelParams {
        lambda: 0.5,
        comparisons: vec![ComparisonParams {
            name: "only".into(),
            levels: vec![LevelParams {
                label: "else".into(),
                m: 1.0,
                u: 1.0,
            }],
        }],
    };
    let single = vec![PrPoint {
        threshold: 0.5,
        precision: 1.0,
        recall: 0.0,
    }];
    let charts = [
        plot::m_u_chart(one_level.clone()),
        plot::match_weights_chart(one_level),
        plot::match_weight_histogram(vec![3.0], vec![], None),
        plot::match_weight_histogram(vec![], vec![-2.0; 5], Some(-2.0)),
        plot::waterfall(Waterfall {
            pair_label: None,
            prior_weight: -3.0,
            terms: vec![],
        }),
        plot::pr_curve(single.clone()),
        plot::precision_recall_vs_threshold(single),
        plot::roc_curve(vec![RocPoint { fpr: 0.0, tpr: 0.0 }]),
        plot::em_trace(vec![EmSession {
            name: "one".into(),
            steps: vec![EmStep {
                log_likelihood: -10.0,
                lambda: 0.1,
            }],
        }]),
        plot::blocking_rule_counts(
            vec![RuleCount {
                rule: "none".into(),
                pairs: 0,
            }],
            false,
        ),
        plot::blocking_rule_counts(
            vec![RuleCount {
                rule: "none".into(),
                pairs: 0,
            }],
            true,
        ),
    ];
    for c in charts {
        let kind = c.data.kind();
        c.to_svg().unwrap_or_else(|e| panic!("{kind}: {e}"));
        c.to_png().unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

#[test]
fn plot_invalid_data_and_sizes_are_errors() {
    let mut bad = model();
    bad.comparisons[0].levels[0].m = 1.5;
    let err = plot::m_u_chart(bad).to_svg().unwrap_err();
    assert!(
        matches!(err, PlotError::InvalidData { .. })
            && err.to_string().contains("first_name[exact].m"),
        "{err}"
    );
    let mut bad = model();
    bad.lambda = 0.0;
    assert!(matches!(
        plot::match_weights_chart(bad).to_png(),
        Err(PlotError::InvalidData { .. })
    ));
    let err = plot::match_weight_histogram(vec![f64::NAN], vec![], None)
        .to_png()
        .unwrap_err();
    assert!(matches!(err, PlotError::InvalidData { .. }), "{err}");
    let err = plot::pr_curve(pr_points())
        .size(0, 100)
        .to_png()
        .unwrap_err();
    assert!(matches!(err, PlotError::Size { .. }), "{err}");
    let e: fellegi::Error = err.into();
    assert!(matches!(e, fellegi::Error::Plot(_)));
}

#[test]
fn plot_waterfall_text_matches_the_chart() {
    let w = waterfall_data();
    let t = plot::waterfall_text(&w);
    assert!(t.starts_with("pair a17 – b203\n"), "{t}");
    for term in &w.terms {
        assert!(
            t.contains(&term.name) && t.contains(&term.level_label),
            "{t}"
        );
        assert!(t.contains(&format!("{:+.2}", term.weight)), "{t}");
    }
    assert!(t.contains(&format!("{:+.2}", w.prior_weight)), "{t}");
    let last = t.lines().rev().nth(1).unwrap();
    assert!(
        last.starts_with("final match weight") && last.ends_with(&format!("{:+.2}", w.total())),
        "{t}"
    );
    assert!(
        t.trim_end().ends_with(&format!("{:.4}", w.probability())),
        "{t}"
    );
    // The SVG shows the same final weight and probability.
    let svg = plot::waterfall(w.clone()).to_svg().unwrap();
    assert!(svg.contains(&format!("{:+.2} (p = {:.4})", w.total(), w.probability())));
}

#[test]
fn plot_custom_title_and_size_are_used() {
    let c = plot::roc_curve(vec![RocPoint { fpr: 0.1, tpr: 0.8 }])
        .title("ROC <synthetic> & friends")
        .size(500, 400);
    let svg = c.to_svg().unwrap();
    assert!(svg.contains("ROC &lt;synthetic&gt; &amp; friends"));
    check_balanced(&svg);
    let img = c.to_rgb().unwrap();
    assert_eq!((img.width, img.height), (500, 400));
}

#[test]
fn plot_interval_and_xy_charts_reject_bad_data() {
    let mut c = interval_data();
    c.series[0].values.pop();
    let err = plot::interval_chart(c).to_svg().unwrap_err();
    assert!(matches!(err, PlotError::InvalidData { .. }), "{err}");
    let mut c = interval_data();
    c.series[0].values[0] = Some(Interval {
        mean: 0.5,
        lo: 0.6,
        hi: 0.7,
    });
    assert!(plot::interval_chart(c).to_png().is_err());
    let mut c = xy_data();
    c.series[0].points[0].x = 0.0;
    let err = plot::xy_chart(c).to_svg().unwrap_err();
    assert!(err.to_string().contains("log axis"), "{err}");
    let mut c = xy_data();
    c.series.iter_mut().for_each(|s| s.points.clear());
    assert!(matches!(
        plot::xy_chart(c).to_svg().unwrap_err(),
        PlotError::NoData { .. }
    ));
}
