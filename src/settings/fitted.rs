//! The fitted-model schema: a fitted model is the settings with `lambda` and every non-null
//! level's `m` and `u` filled in (and a `fit` block); these read and write [`FsParams`] there.

use super::Settings;
use crate::compare::Predicate;
use crate::error::{Error, Result};
use crate::model::FsParams;
use crate::model::train::TrainSpec;

impl FsParams {
    /// Reads λ, m and u from a fitted model (expanded settings).
    ///
    /// # Errors
    /// [`Error::Settings`] naming the first level without `m` or `u`, or a missing `lambda`.
    pub fn from_settings(s: &Settings, origin: &str) -> Result<FsParams> {
        let lambda = s.lambda.ok_or_else(|| {
            Error::settings(
                origin,
                "lambda",
                "a fitted model needs `lambda`; run `fellegi train` first",
            )
        })?;
        let mut p = FsParams {
            lambda,
            m: Vec::new(),
            u: Vec::new(),
            null_level: Vec::new(),
        };
        for (ci, c) in s.comparisons.iter().enumerate() {
            let null = c.levels.iter().position(|l| l.predicate == Predicate::Null);
            let (mut m, mut u) = (Vec::new(), Vec::new());
            for (li, l) in c.levels.iter().enumerate() {
                if Some(li) == null {
                    m.push(1.0);
                    u.push(1.0);
                    continue;
                }
                let get = |v: Option<f64>, name: &str| {
                    v.ok_or_else(|| {
                        Error::settings(
                            origin,
                            format!("comparison[{ci}].levels[{li}].{name}"),
                            "missing; a fitted model has m and u on every non-null level",
                        )
                    })
                };
                m.push(get(l.m, "m")?);
                u.push(get(l.u, "u")?);
            }
            p.m.push(m);
            p.u.push(u);
            p.null_level.push(null);
        }
        Ok(p)
    }

    /// Writes λ, m and u into expanded settings (the fitted model).
    pub fn write_into(&self, s: &mut Settings) {
        s.lambda = Some(self.lambda);
        for (c, spec) in s.comparisons.iter_mut().enumerate() {
            for (l, level) in spec.levels.iter_mut().enumerate() {
                if Some(l) == self.null_level[c] {
                    continue;
                }
                level.m = Some(self.m[c][l]);
                level.u = Some(self.u[c][l]);
            }
        }
    }
}

impl Settings {
    /// What training reads from these (expanded) settings: link type, plan, comparisons and
    /// prediction blocking rules.
    pub fn train_spec(&self) -> TrainSpec<'_> {
        TrainSpec {
            link_type: self.link_type,
            plan: &self.training,
            comparisons: &self.comparisons,
            blocking: &self.blocking,
        }
    }
}
