//! Issue 5: R RecordLinkage's weight-based deduplication vignette on RLdata500, reproduced
//! exactly through the library pipeline with `training.algorithm = "as207"` (Haber's AS 207, as
//! RecordLinkage's `emWeights`) and the experiment's own settings
//! (`experiments/rldata500-recordlinkage-vignette/`).
//!
//! Provenance: RecordLinkage 0.4-12 vignette "Example session for Weight-based deduplication"
//! (`vignettes/WeightBased.Rmd`): `compare.dedup(RLdata500, identity = identity.RLdata500,
//! blockfld = list(c(5,6), c(6,7), c(5,7)))` gives 571 pairs with 49 matches; `emWeights`, then
//! `hist(pairs$Wdata)` and `emClassify(threshold.upper = 24, threshold.lower = -7)`. No seed is
//! involved (nothing is sampled).

use std::path::PathBuf;

use fellegi::model::predict::pattern_weight;
use fellegi::pipeline;
use fellegi::progress::Progress;
use fellegi::settings::Settings;

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Links RLdata500 with an experiment settings file and returns, per pair, the log2 Bayes
/// factor (no prior) and whether it is a true match, plus the in-block λ and convergence.
fn run(settings: &str) -> (Vec<(f64, bool)>, f64, bool) {
    let path = repo("experiments/rldata500-recordlinkage-vignette").join(settings);
    let s = Settings::from_path(&path).unwrap();
    let s = s.expanded(settings).unwrap();
    let p = Progress::default();
    let ds = pipeline::load(&s, &[repo("datasets/rldata/RLdata500.csv")], &p).unwrap();
    let linked = pipeline::link(&s, &ds, pipeline::LinkMethod::Probabilistic, 42, 0.0, &p).unwrap();
    let (fitted, pairs) = (linked.trained.fitted, linked.scored.pairs);
    assert_eq!(pairs.candidates, 571, "pairs agreeing on two of by, bm, bd");
    assert_eq!(pairs.candidates_true, Some(49));
    assert_eq!(pairs.len(), 571, "--min-probability 0 keeps every pair");
    let truth = ds.truth.as_deref().unwrap();
    let lw = fitted.params.level_weights();
    let scored = (0..pairs.len())
        .map(|i| {
            let (l, r) = (pairs.left[i] as usize, pairs.right[i] as usize);
            (
                pattern_weight(0.0, &lw, pairs.levels_of(i)),
                truth[l] == truth[r],
            )
        })
        .collect();
    let session = &fitted.fit.sessions[0];
    (scored, session.lambda_in_block, session.converged)
}

/// emClassify's table: [non-link, possible link, link] × [true match, non-match].
fn classify(scored: &[(f64, bool)], upper: f64, lower: f64) -> [[u32; 2]; 3] {
    let mut t = [[0; 2]; 3];
    for &(w, is_match) in scored {
        let class = if w >= upper {
            2
        } else if w < lower {
            0
        } else {
            1
        };
        t[class][usize::from(!is_match)] += 1;
    }
    t
}

/// `hist(pairs$Wdata, plot = FALSE)` with R's default right-closed bins of width 5 from −15 to 45.
fn histogram(scored: &[(f64, bool)]) -> Vec<u32> {
    let mut h = vec![0; 12];
    for &(w, _) in scored {
        let bin = ((w + 15.0) / 5.0).ceil().max(1.0) as usize - 1;
        h[bin.min(11)] += 1;
    }
    h
}

#[test]
fn as207_reproduces_the_published_vignette_exactly() {
    let (scored, lambda, converged) = run("settings.toml");
    assert!(converged);
    // Published: 358 non-links (0 true), 198 possible links (35 true), 15 links (14 true).
    assert_eq!(
        classify(&scored, 24.0, -7.0),
        [[0, 358], [35, 163], [14, 1]]
    );
    // Published weight histogram, breaks -15, -10, ..., 45.
    assert_eq!(
        histogram(&scored),
        [352, 13, 0, 0, 5, 26, 42, 123, 9, 0, 0, 1]
    );
    assert!((lambda - 0.36103).abs() < 1e-4, "lambda in block {lambda}");
}

#[test]
fn plain_em_on_the_same_counts_runs_on_to_the_boundary_optimum() {
    // The same start and limits with plain EM: u of `by` goes to 0 and the weights spread out,
    // so the three-way table differs from the published one (see the experiment's README).
    let (scored, _, converged) = run("settings-plain-em.toml");
    assert!(converged);
    assert_eq!(classify(&scored, 24.0, -7.0), [[7, 358], [0, 0], [42, 164]]);
}
