//! Generator configuration: fields, presets, duplicate distributions, sources, and the TOML
//! config file that overrides a preset.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::corrupt::Corruption;
use crate::error::{Error, Result};

/// An attribute column of the generated records (FEBRL-like people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Given name, from `givenname-freq.csv`.
    GivenName,
    /// Surname, from `surname-freq.csv`.
    Surname,
    /// Street number, from `streetnumber-freq.csv`.
    StreetNumber,
    /// Street address, from `address1-freq.csv`.
    #[serde(rename = "address_1")]
    Address1,
    /// Suburb, from `suburb-freq.csv`.
    Suburb,
    /// Postcode of the suburb (`suburb-postcode-lookup.tbl`, else `postcode-freq.csv`).
    Postcode,
    /// State of the suburb (lowercase abbreviation, e.g. `nsw`).
    State,
    /// Date of birth `YYYYMMDD`, from `age-freq.csv` at [`super::REFERENCE_YEAR`].
    DateOfBirth,
    /// Seven-digit social security number, uniform.
    SocSecId,
    /// Phone number `0A NNNN NNNN` with the state's area code (only with
    /// [`GeneratorConfig::phone_number`]).
    PhoneNumber,
}

impl Field {
    /// Every field in column order.
    pub const ALL: [Field; 10] = [
        Field::GivenName,
        Field::Surname,
        Field::StreetNumber,
        Field::Address1,
        Field::Suburb,
        Field::Postcode,
        Field::State,
        Field::DateOfBirth,
        Field::SocSecId,
        Field::PhoneNumber,
    ];

    /// The column name.
    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "given_name",
            Field::Surname => "surname",
            Field::StreetNumber => "street_number",
            Field::Address1 => "address_1",
            Field::Suburb => "suburb",
            Field::Postcode => "postcode",
            Field::State => "state",
            Field::DateOfBirth => "date_of_birth",
            Field::SocSecId => "soc_sec_id",
            Field::PhoneNumber => "phone_number",
        }
    }

    /// Index in [`Field::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether corruption `c` can be configured for this field: `swap` only on the two names,
    /// `date_swap` and `date_digit` only on the date of birth (which takes no other type but
    /// `transpose`, `substitute` and `ocr`), `misspelling` and `variant` only where a misspelling
    /// table exists (given name, surname, suburb).
    pub fn allows(self, c: Corruption) -> bool {
        use Corruption as C;
        match c {
            C::Swap => matches!(self, Field::GivenName | Field::Surname),
            C::DateSwap | C::DateDigit => self == Field::DateOfBirth,
            C::Misspelling | C::Variant => {
                matches!(self, Field::GivenName | Field::Surname | Field::Suburb)
            }
            C::Transpose | C::Substitute | C::Ocr => true,
            _ => self != Field::DateOfBirth,
        }
    }
}

/// A named difficulty preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// About FEBRL dataset4 / A-series difficulty: at most one modification per record, typos,
    /// misspellings and variants only, 1 % missing per field.
    Low,
    /// Up to two modifications per record, adds phonetic and OCR errors, truncation, date swaps
    /// and rare name swaps; 3 % missing per field.
    Medium,
    /// About FEBRL dataset3 / C-series: up to four modifications per record, frequent OCR and
    /// phonetic errors, swaps; 8 % missing per field.
    High,
}

impl Preset {
    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Low => "low",
            Preset::Medium => "medium",
            Preset::High => "high",
        }
    }
}

impl FromStr for Preset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Preset> {
        match s {
            "low" => Ok(Preset::Low),
            "medium" => Ok(Preset::Medium),
            "high" => Ok(Preset::High),
            _ => Err(Error::invalid(
                "--preset",
                format!("unknown preset `{s}`: expected low, medium or high"),
            )),
        }
    }
}

/// The distribution of the number of duplicates per entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateDistribution {
    /// Poisson with the given mean, truncated to `0..=max` (renormalised).
    Poisson,
    /// Uniform on `0..=max`; the mean is `max / 2`.
    Uniform,
    /// Zipf-like on `0..=max`: P(k) ∝ (k + 1)^(−s), with the exponent s chosen so the mean is
    /// the given mean (which must lie in (0, max / 2)).
    Zipf,
}

impl FromStr for DuplicateDistribution {
    type Err = Error;
    fn from_str(s: &str) -> Result<DuplicateDistribution> {
        match s {
            "poisson" => Ok(DuplicateDistribution::Poisson),
            "uniform" => Ok(DuplicateDistribution::Uniform),
            "zipf" => Ok(DuplicateDistribution::Zipf),
            _ => Err(Error::invalid(
                "--duplicates",
                format!("unknown duplicate distribution `{s}`: expected poisson, uniform or zipf"),
            )),
        }
    }
}

/// How many duplicates each entity gets (records beyond one per source it appears in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateSpec {
    /// The distribution (default Poisson).
    pub distribution: DuplicateDistribution,
    /// Mean number of duplicates per entity before truncation to `max` for Poisson, exact for
    /// Zipf; for uniform it is `max / 2` (default 0.7).
    pub mean: f64,
    /// Most duplicates per entity (default 5).
    pub max: u32,
}

impl Default for DuplicateSpec {
    fn default() -> Self {
        DuplicateSpec {
            distribution: DuplicateDistribution::Poisson,
            mean: 0.7,
            max: 5,
        }
    }
}

impl DuplicateSpec {
    /// The probabilities of `0..=max` duplicates.
    ///
    /// # Errors
    /// [`Error::Invalid`] if the mean is negative or not finite, or for Zipf outside (0, max/2)
    /// (a zero mean gives no duplicates).
    pub fn pmf(&self) -> Result<Vec<f64>> {
        let n = self.max as usize + 1;
        let m = self.mean;
        if !m.is_finite() || m < 0.0 {
            return Err(Error::invalid(
                "--duplicates",
                format!("duplicates: mean {m} must be a non-negative number"),
            ));
        }
        let mut p = vec![0.0; n];
        match self.distribution {
            DuplicateDistribution::Uniform => p.fill(1.0 / n as f64),
            _ if m == 0.0 || self.max == 0 => p[0] = 1.0,
            DuplicateDistribution::Poisson => {
                let mut x = (-m).exp();
                for (k, pk) in p.iter_mut().enumerate() {
                    if k > 0 {
                        x *= m / k as f64;
                    }
                    *pk = x;
                }
            }
            DuplicateDistribution::Zipf => {
                let half = self.max as f64 / 2.0;
                if m >= half {
                    return Err(Error::invalid(
                        "--duplicates",
                        format!(
                            "duplicates: a Zipf mean must be below max/2 = {half} (got {m}); raise max or use poisson"
                        ),
                    ));
                }
                let zipf = |s: f64| {
                    let w: Vec<f64> = (0..n).map(|k| ((k + 1) as f64).powf(-s)).collect();
                    let t: f64 = w.iter().sum();
                    w.into_iter().map(|x| x / t).collect::<Vec<f64>>()
                };
                let mean_of =
                    |q: &[f64]| -> f64 { q.iter().enumerate().map(|(k, x)| k as f64 * x).sum() };
                let (mut lo, mut hi) = (0.0_f64, 64.0_f64);
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if mean_of(&zipf(mid)) > m {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                p = zipf(0.5 * (lo + hi));
            }
        }
        let t: f64 = p.iter().sum();
        Ok(p.into_iter().map(|x| x / t).collect())
    }

    /// The mean of [`DuplicateSpec::pmf`].
    ///
    /// # Errors
    /// Those of [`DuplicateSpec::pmf`].
    pub fn expected_mean(&self) -> Result<f64> {
        Ok(self
            .pmf()?
            .iter()
            .enumerate()
            .map(|(k, p)| k as f64 * p)
            .sum())
    }
}

/// How entities are spread over output sources (files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Number of sources, 1 to 26 (default 1).
    pub count: usize,
    /// Share of entities that appear in two or more sources, in [0, 1] (default 0; must be 0
    /// for one source). Such an entity appears in a uniform number of sources from 2 to `count`,
    /// chosen uniformly; the others in one source chosen uniformly.
    pub overlap: f64,
}

impl Default for SourceSpec {
    fn default() -> Self {
        SourceSpec {
            count: 1,
            overlap: 0.0,
        }
    }
}

impl SourceSpec {
    /// Source names: `a`, `b`, ... for several sources; `records` for one.
    pub fn names(&self) -> Vec<String> {
        if self.count == 1 {
            return vec!["records".into()];
        }
        (0..self.count)
            .map(|i| ((b'a' + i as u8) as char).to_string())
            .collect()
    }

    /// File names: `records.csv` for one source, else `source_a.csv`, `source_b.csv`, ...
    pub fn file_names(&self) -> Vec<String> {
        if self.count == 1 {
            return vec!["records.csv".into()];
        }
        self.names()
            .iter()
            .map(|n| format!("source_{n}.csv"))
            .collect()
    }

    /// Record id prefixes: `r` for one source, else the source letter.
    pub fn id_prefixes(&self) -> Vec<String> {
        if self.count == 1 {
            return vec!["r".into()];
        }
        self.names()
    }
}

/// Corruption settings of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Relative weight of this field when choosing which fields of a record to modify (≥ 0;
    /// 0 = never modified, only blanked at its missing rate).
    pub weight: f64,
    /// Probability that this field is blank in a corrupted copy, independently of the
    /// modifications, in [0, 1].
    pub missing: f64,
    /// Relative weights of the corruption types for this field (each ≥ 0).
    pub types: BTreeMap<Corruption, f64>,
}

/// Per-record and per-field corruption settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorruptionSpec {
    /// Probability that a copy (any record but an entity's original) gets modified, in [0, 1].
    pub record_rate: f64,
    /// A modified copy gets a uniform number of modifications in `1..=max_modifications`, each
    /// on a different field (≥ 1).
    pub max_modifications: u32,
    /// Per field settings (every field of [`Field::ALL`] has an entry).
    pub fields: BTreeMap<Field, FieldSpec>,
}

/// Everything the record generator needs besides the lookup tables.
///
/// # Examples
/// ```
/// use fellegi::synth::records::{GeneratorConfig, Preset};
/// let mut cfg = GeneratorConfig::new(Preset::Low);
/// cfg.entities = 100;
/// cfg.seed = 7;
/// cfg.validate("example")?;
/// # Ok::<(), fellegi::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorConfig {
    /// Master seed (default 42).
    pub seed: u64,
    /// Number of entities (default 1,000; at least 1).
    pub entities: u64,
    /// The preset the corruption settings started from.
    pub preset: Preset,
    /// Whether to add a `phone_number` column (default false).
    pub phone_number: bool,
    /// Duplicates per entity.
    pub duplicates: DuplicateSpec,
    /// Output sources and their overlap.
    pub sources: SourceSpec,
    /// Corruption model.
    pub corruption: CorruptionSpec,
}

fn types(pairs: &[(Corruption, f64)]) -> BTreeMap<Corruption, f64> {
    pairs.iter().copied().filter(|&(_, w)| w > 0.0).collect()
}

impl GeneratorConfig {
    /// The configuration of a preset, with the default seed (42), 1,000 entities, one source and
    /// Poisson duplicates with mean 0.7 (at most 5).
    pub fn new(preset: Preset) -> GeneratorConfig {
        use Corruption as C;
        let (rate, max_mod, missing, ocr, phon, trunc, swap, dswap) = match preset {
            Preset::Low => (0.9, 1, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0),
            Preset::Medium => (1.0, 2, 0.03, 0.3, 0.5, 0.3, 0.1, 0.5),
            Preset::High => (1.0, 4, 0.08, 1.0, 1.0, 0.5, 0.3, 1.0),
        };
        let typo = [
            (C::Insert, 1.0),
            (C::Delete, 1.0),
            (C::Substitute, 1.0),
            (C::Transpose, 1.0),
            (C::Keyboard, 1.0),
        ];
        let digits = [
            (C::Insert, 0.5),
            (C::Delete, 0.5),
            (C::Substitute, 1.0),
            (C::Transpose, 1.0),
            (C::Keyboard, 0.5),
            (C::Ocr, ocr * 0.5),
        ];
        let mut fields = BTreeMap::new();
        for f in Field::ALL {
            let (weight, t): (f64, Vec<(C, f64)>) = match f {
                Field::GivenName | Field::Surname => {
                    let mut t = typo.to_vec();
                    t.extend([
                        (C::Misspelling, 1.0),
                        (C::Variant, if f == Field::GivenName { 1.0 } else { 0.3 }),
                        (C::Ocr, ocr),
                        (C::Phonetic, phon),
                        (C::Swap, swap),
                    ]);
                    (1.0, t)
                }
                Field::Suburb => {
                    let mut t = typo.to_vec();
                    t.extend([(C::Misspelling, 1.0), (C::Ocr, ocr), (C::Phonetic, phon)]);
                    (1.0, t)
                }
                Field::Address1 => {
                    let mut t = typo.to_vec();
                    t.extend([(C::Ocr, ocr), (C::Truncate, trunc * 2.0)]);
                    (1.0, t)
                }
                Field::StreetNumber | Field::Postcode | Field::PhoneNumber => {
                    (0.5, digits.to_vec())
                }
                Field::SocSecId => (1.0, digits.to_vec()),
                Field::State => (0.25, vec![(C::Substitute, 1.0)]),
                Field::DateOfBirth => (
                    1.0,
                    vec![
                        (C::DateDigit, 1.0),
                        (C::Transpose, 0.5),
                        (C::DateSwap, dswap),
                        (C::Ocr, ocr * 0.5),
                    ],
                ),
            };
            fields.insert(
                f,
                FieldSpec {
                    weight,
                    missing,
                    types: types(&t),
                },
            );
        }
        GeneratorConfig {
            seed: 42,
            entities: 1000,
            preset,
            phone_number: false,
            duplicates: DuplicateSpec::default(),
            sources: SourceSpec::default(),
            corruption: CorruptionSpec {
                record_rate: rate,
                max_modifications: max_mod,
                fields,
            },
        }
    }

    /// The output fields in column order (the phone number only when enabled).
    pub fn active_fields(&self) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|&f| f != Field::PhoneNumber || self.phone_number)
            .collect()
    }

    /// Checks every value; `origin` names where the configuration came from in errors.
    ///
    /// # Errors
    /// [`Error::Settings`] naming the key (`entities`, `duplicates.mean`, `sources.overlap`,
    /// `corruption.record_rate`, `fields.surname.missing`, `fields.state.types.swap`, ...).
    pub fn validate(&self, origin: &str) -> Result<()> {
        let bad = |key: &str, msg: String| Err(Error::settings(origin, key, msg));
        let prob = |key: &str, x: f64| {
            if (0.0..=1.0).contains(&x) {
                Ok(())
            } else {
                bad(key, format!("must be a probability in [0, 1], got {x}"))
            }
        };
        if self.entities == 0 {
            return bad("entities", "must be at least 1".into());
        }
        if let Err(e) = self.duplicates.pmf() {
            return bad("duplicates.mean", e.to_string());
        }
        let s = &self.sources;
        if !(1..=26).contains(&s.count) {
            return bad("sources.count", format!("must be 1 to 26, got {}", s.count));
        }
        prob("sources.overlap", s.overlap)?;
        if s.count == 1 && s.overlap > 0.0 {
            return bad(
                "sources.overlap",
                "needs at least two sources (sources.count)".into(),
            );
        }
        let c = &self.corruption;
        prob("corruption.record_rate", c.record_rate)?;
        if c.max_modifications == 0 {
            return bad("corruption.max_modifications", "must be at least 1".into());
        }
        for f in Field::ALL {
            let Some(fs) = c.fields.get(&f) else {
                return bad(&format!("fields.{}", f.name()), "missing".into());
            };
            let key = |k: &str| format!("fields.{}.{k}", f.name());
            if !(fs.weight.is_finite() && fs.weight >= 0.0) {
                return bad(
                    &key("weight"),
                    format!("must be a non-negative number, got {}", fs.weight),
                );
            }
            prob(&key("missing"), fs.missing)?;
            for (&t, &w) in &fs.types {
                let k = key(&format!("types.{}", t.name()));
                if !(w.is_finite() && w >= 0.0) {
                    return bad(&k, format!("must be a non-negative weight, got {w}"));
                }
                if w > 0.0 && !f.allows(t) {
                    return bad(
                        &k,
                        format!("`{}` does not apply to `{}`", t.name(), f.name()),
                    );
                }
            }
            if fs.weight > 0.0 && fs.types.values().sum::<f64>() <= 0.0 {
                return bad(
                    &key("types"),
                    "a field with a positive weight needs at least one corruption type with a positive weight (or set its weight to 0)".into(),
                );
            }
        }
        Ok(())
    }
}

/// A TOML config file for `fellegi generate --config`: every key is optional and overrides the
/// preset's value. Unknown keys are errors.
///
/// ```toml
/// preset = "high"             # low | medium | high
/// seed = 7
/// entities = 10000
/// phone_number = true
/// [duplicates]
/// distribution = "zipf"       # poisson | uniform | zipf
/// mean = 1.0
/// max = 5
/// [sources]
/// count = 3
/// overlap = 0.6
/// [corruption]
/// record_rate = 0.9
/// max_modifications = 2
/// [fields.surname]
/// weight = 2.0
/// missing = 0.05
/// types = { insert = 1, ocr = 0.5 }   # replaces the preset's types for this field
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Base preset.
    pub preset: Option<Preset>,
    /// Master seed.
    pub seed: Option<u64>,
    /// Number of entities.
    pub entities: Option<u64>,
    /// Add a phone number column.
    pub phone_number: Option<bool>,
    /// Duplicate distribution overrides.
    pub duplicates: Option<DuplicatesFile>,
    /// Source overrides.
    pub sources: Option<SourcesFile>,
    /// Per-record corruption overrides.
    pub corruption: Option<CorruptionFile>,
    /// Per-field overrides.
    pub fields: Option<BTreeMap<Field, FieldFile>>,
}

/// `[duplicates]` of a [`ConfigFile`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicatesFile {
    /// See [`DuplicateSpec::distribution`].
    pub distribution: Option<DuplicateDistribution>,
    /// See [`DuplicateSpec::mean`].
    pub mean: Option<f64>,
    /// See [`DuplicateSpec::max`].
    pub max: Option<u32>,
}

/// `[sources]` of a [`ConfigFile`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesFile {
    /// See [`SourceSpec::count`].
    pub count: Option<usize>,
    /// See [`SourceSpec::overlap`].
    pub overlap: Option<f64>,
}

/// `[corruption]` of a [`ConfigFile`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorruptionFile {
    /// See [`CorruptionSpec::record_rate`].
    pub record_rate: Option<f64>,
    /// See [`CorruptionSpec::max_modifications`].
    pub max_modifications: Option<u32>,
}

/// `[fields.NAME]` of a [`ConfigFile`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldFile {
    /// See [`FieldSpec::weight`].
    pub weight: Option<f64>,
    /// See [`FieldSpec::missing`].
    pub missing: Option<f64>,
    /// See [`FieldSpec::types`]; replaces the preset's types of the field.
    pub types: Option<BTreeMap<Corruption, f64>>,
}

impl ConfigFile {
    /// Parses TOML text; `origin` names the file in errors.
    ///
    /// # Errors
    /// [`Error::Parse`] with the parser's message, which names an unknown key and its line.
    pub fn parse(text: &str, origin: &str) -> Result<ConfigFile> {
        toml::from_str(text).map_err(|e| Error::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })
    }

    /// Reads and parses a TOML file.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read; those of [`ConfigFile::parse`].
    pub fn load(path: &std::path::Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        ConfigFile::parse(&text, &path.display().to_string())
    }

    /// Applies the overrides (not `preset`, which chooses the base) to `cfg`.
    ///
    /// # Errors
    /// [`Error::Settings`] for `duplicates.mean` given with a uniform distribution (its mean is
    /// `max / 2`).
    pub fn apply(&self, cfg: &mut GeneratorConfig, origin: &str) -> Result<()> {
        if let Some(x) = self.seed {
            cfg.seed = x;
        }
        if let Some(x) = self.entities {
            cfg.entities = x;
        }
        if let Some(x) = self.phone_number {
            cfg.phone_number = x;
        }
        if let Some(d) = &self.duplicates {
            if let Some(x) = d.distribution {
                cfg.duplicates.distribution = x;
            }
            if let Some(x) = d.max {
                cfg.duplicates.max = x;
            }
            if let Some(x) = d.mean {
                if cfg.duplicates.distribution == DuplicateDistribution::Uniform {
                    return Err(Error::settings(
                        origin,
                        "duplicates.mean",
                        "does not apply to the uniform distribution, whose mean is max / 2",
                    ));
                }
                cfg.duplicates.mean = x;
            }
        }
        if let Some(s) = &self.sources {
            if let Some(x) = s.count {
                cfg.sources.count = x;
            }
            if let Some(x) = s.overlap {
                cfg.sources.overlap = x;
            }
        }
        if let Some(c) = &self.corruption {
            if let Some(x) = c.record_rate {
                cfg.corruption.record_rate = x;
            }
            if let Some(x) = c.max_modifications {
                cfg.corruption.max_modifications = x;
            }
        }
        for (f, ff) in self.fields.iter().flatten() {
            let fs = cfg
                .corruption
                .fields
                .get_mut(f)
                .expect("every field present");
            if let Some(x) = ff.weight {
                fs.weight = x;
            }
            if let Some(x) = ff.missing {
                fs.missing = x;
            }
            if let Some(t) = &ff.types {
                fs.types = t.clone();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate() {
        for p in [Preset::Low, Preset::Medium, Preset::High] {
            GeneratorConfig::new(p).validate("test").unwrap();
        }
    }

    #[test]
    fn duplicate_means() {
        let d = |distribution, mean, max| DuplicateSpec {
            distribution,
            mean,
            max,
        };
        let m = d(DuplicateDistribution::Poisson, 0.7, 50)
            .expected_mean()
            .unwrap();
        assert!((m - 0.7).abs() < 1e-9);
        let m = d(DuplicateDistribution::Uniform, 0.0, 4)
            .expected_mean()
            .unwrap();
        assert!((m - 2.0).abs() < 1e-12);
        let m = d(DuplicateDistribution::Zipf, 0.8, 5)
            .expected_mean()
            .unwrap();
        assert!((m - 0.8).abs() < 1e-9, "{m}");
        assert!(
            d(DuplicateDistribution::Zipf, 3.0, 5)
                .expected_mean()
                .is_err()
        );
    }

    #[test]
    fn config_errors_name_the_key() {
        let e = ConfigFile::parse("[fields.surname]\nmisssing = 0.1\n", "g.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("misssing"), "{e}");
        let f = ConfigFile::parse("[fields.surname]\nmissing = -0.1\n", "g.toml").unwrap();
        let mut cfg = GeneratorConfig::new(Preset::Low);
        f.apply(&mut cfg, "g.toml").unwrap();
        let e = cfg.validate("g.toml").unwrap_err().to_string();
        assert!(e.contains("fields.surname.missing"), "{e}");
        let f = ConfigFile::parse("[fields.state]\ntypes = { swap = 1 }\n", "g.toml").unwrap();
        let mut cfg = GeneratorConfig::new(Preset::Low);
        f.apply(&mut cfg, "g.toml").unwrap();
        let e = cfg.validate("g.toml").unwrap_err().to_string();
        assert!(e.contains("fields.state.types.swap"), "{e}");
    }
}
