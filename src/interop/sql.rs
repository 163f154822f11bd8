//! A small reader for the SQL expressions Splink writes in comparison levels and blocking rules:
//! a tokenizer and a recursive-descent parser to an expression tree, which [`super::splink`]
//! then matches against the forms it understands. It reads boolean and arithmetic expressions,
//! function calls, `CAST`/`TRY_CAST`, `IS [NOT] NULL`, `CASE WHEN` and column references in both
//! of Splink's conventions (`"name_l"` suffixes and `l."name"` prefixes, quoted with `"` or
//! backticks or bare). It is not a general SQL parser: anything else is a parse error, which the
//! caller reports as an unsupported level or rule.

/// Which record of the pair a column reference reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The left record (`_l` suffix or `l.` prefix).
    L,
    /// The right record (`_r` suffix or `r.` prefix).
    R,
}

/// A parsed SQL expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A column of one record of the pair.
    Col(Side, String),
    /// An identifier that names neither side (a bare column without suffix or prefix).
    Ident(String),
    /// A numeric literal.
    Num(f64),
    /// A string literal.
    Str(String),
    /// A function call; the name is lower-cased.
    Call(String, Vec<Expr>),
    /// `CAST(e AS type)` or `TRY_CAST(e AS type)` (`try`), type lower-cased.
    Cast {
        /// The value cast.
        expr: Box<Expr>,
        /// The target type, lower-cased (`double`, `float`, ...).
        ty: String,
        /// Whether it is `TRY_CAST`.
        try_: bool,
    },
    /// `e IS NULL` (`negated`: `IS NOT NULL`).
    IsNull(Box<Expr>, bool),
    /// A binary operation.
    Bin(Op, Box<Expr>, Box<Expr>),
    /// `NOT e`.
    Not(Box<Expr>),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `CASE WHEN c THEN v ... ELSE e END`.
    Case(Vec<(Expr, Expr)>, Option<Box<Expr>>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    /// The comparison with its operands swapped (`a < b` ⇔ `b > a`).
    pub(crate) fn flipped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            o => o,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word (identifier or keyword), as written.
    Word(String),
    /// A quoted identifier (`"..."` or backticks).
    Quoted(String),
    Num(f64),
    Str(String),
    Sym(&'static str),
}

fn tokenize(sql: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '"' || c == '`' {
            let q = c;
            let mut s = String::new();
            i += 1;
            loop {
                match cs.get(i) {
                    None => return Err(format!("unterminated quoted name starting {q}{s}")),
                    Some(&x) if x == q => {
                        if cs.get(i + 1) == Some(&q) {
                            s.push(q);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Quoted(s));
            continue;
        }
        if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match cs.get(i) {
                    None => return Err(format!("unterminated string literal '{s}")),
                    Some('\'') => {
                        if cs.get(i + 1) == Some(&'\'') {
                            s.push('\'');
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && cs.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            if i < cs.len() && (cs[i] == 'e' || cs[i] == 'E') {
                let mut j = i + 1;
                if j < cs.len() && (cs[j] == '+' || cs[j] == '-') {
                    j += 1;
                }
                if j < cs.len() && cs[j].is_ascii_digit() {
                    i = j;
                    while i < cs.len() && cs[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = cs[start..i].iter().collect();
            let v: f64 = text
                .parse()
                .map_err(|_| format!("`{text}` is not a number"))?;
            out.push(Tok::Num(v));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(cs[start..i].iter().collect()));
            continue;
        }
        let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
        let sym2 = ["<=", ">=", "<>", "!=", "=="]
            .into_iter()
            .find(|s| *s == two);
        if let Some(s) = sym2 {
            out.push(Tok::Sym(s));
            i += 2;
            continue;
        }
        let sym1 = ["(", ")", ",", ".", "=", "<", ">", "+", "-", "*", "/"]
            .into_iter()
            .find(|s| s.starts_with(c));
        match sym1 {
            Some(s) => {
                out.push(Tok::Sym(s));
                i += 1;
            }
            None => return Err(format!("unexpected character `{c}`")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

/// Parses one SQL expression.
///
/// # Errors
/// A message saying what could not be read.
pub(crate) fn parse(sql: &str) -> Result<Expr, String> {
    let toks = tokenize(sql)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "unexpected `{}` after a complete expression",
            p.describe(p.pos)
        ));
    }
    Ok(e)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn describe(&self, i: usize) -> String {
        match self.toks.get(i) {
            None => "end of input".into(),
            Some(Tok::Word(w)) => w.clone(),
            Some(Tok::Quoted(w)) => format!("\"{w}\""),
            Some(Tok::Num(v)) => v.to_string(),
            Some(Tok::Str(s)) => format!("'{s}'"),
            Some(Tok::Sym(s)) => s.to_string(),
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), String> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(format!(
                "expected {kw}, found `{}`",
                self.describe(self.pos)
            ))
        }
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), String> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(format!(
                "expected `{s}`, found `{}`",
                self.describe(self.pos)
            ))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.eat_kw("or") {
            let r = self.and()?;
            e = Expr::Bin(Op::Or, Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.not()?;
        while self.eat_kw("and") {
            let r = self.not()?;
            e = Expr::Bin(Op::And, Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_kw("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        let e = self.add()?;
        if self.eat_kw("is") {
            let negated = self.eat_kw("not");
            self.expect_kw("null")?;
            return Ok(Expr::IsNull(Box::new(e), negated));
        }
        let op = match self.peek() {
            Some(Tok::Sym("=" | "==")) => Op::Eq,
            Some(Tok::Sym("<>" | "!=")) => Op::Ne,
            Some(Tok::Sym("<")) => Op::Lt,
            Some(Tok::Sym("<=")) => Op::Le,
            Some(Tok::Sym(">")) => Op::Gt,
            Some(Tok::Sym(">=")) => Op::Ge,
            _ => return Ok(e),
        };
        self.pos += 1;
        let r = self.add()?;
        Ok(Expr::Bin(op, Box::new(e), Box::new(r)))
    }

    fn add(&mut self) -> Result<Expr, String> {
        let mut e = self.mul()?;
        loop {
            let op = if self.eat_sym("+") {
                Op::Add
            } else if self.eat_sym("-") {
                Op::Sub
            } else {
                return Ok(e);
            };
            let r = self.mul()?;
            e = Expr::Bin(op, Box::new(e), Box::new(r));
        }
    }

    fn mul(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                Op::Mul
            } else if self.eat_sym("/") {
                Op::Div
            } else {
                return Ok(e);
            };
            let r = self.unary()?;
            e = Expr::Bin(op, Box::new(e), Box::new(r));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_sym("-") {
            return Ok(match self.unary()? {
                Expr::Num(v) => Expr::Num(-v),
                e => Expr::Neg(Box::new(e)),
            });
        }
        if self.eat_sym("+") {
            return self.unary();
        }
        self.primary()
    }

    /// A column reference or identifier from a name: `l`/`r` prefixes are handled by the
    /// caller; here `_l`/`_r` suffixes.
    fn name_ref(name: String) -> Expr {
        if let Some(base) = name.strip_suffix("_l").filter(|b| !b.is_empty()) {
            Expr::Col(Side::L, base.to_string())
        } else if let Some(base) = name.strip_suffix("_r").filter(|b| !b.is_empty()) {
            Expr::Col(Side::R, base.to_string())
        } else {
            Expr::Ident(name)
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let at = self.pos;
        match self.toks.get(at).cloned() {
            None => Err("unexpected end of expression".into()),
            Some(Tok::Num(v)) => {
                self.pos += 1;
                Ok(Expr::Num(v))
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Expr::Str(s))
            }
            Some(Tok::Sym("(")) => {
                self.pos += 1;
                let e = self.or()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Some(Tok::Quoted(name)) => {
                self.pos += 1;
                Ok(Self::name_ref(name))
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                let lw = w.to_ascii_lowercase();
                // `l.name` / `r.name`
                if (lw == "l" || lw == "r") && self.eat_sym(".") {
                    let side = if lw == "l" { Side::L } else { Side::R };
                    return match self.toks.get(self.pos).cloned() {
                        Some(Tok::Quoted(n)) | Some(Tok::Word(n)) => {
                            self.pos += 1;
                            Ok(Expr::Col(side, n))
                        }
                        _ => Err(format!(
                            "expected a column name after `{w}.`, found `{}`",
                            self.describe(self.pos)
                        )),
                    };
                }
                if lw == "case" {
                    return self.case();
                }
                if lw == "null" || lw == "true" || lw == "false" {
                    return Err(format!("literal `{w}` is not supported here"));
                }
                if self.eat_sym("(") {
                    if lw == "cast" || lw == "try_cast" {
                        let e = self.or()?;
                        self.expect_kw("as")?;
                        let ty = match self.toks.get(self.pos).cloned() {
                            Some(Tok::Word(t)) => {
                                self.pos += 1;
                                t.to_ascii_lowercase()
                            }
                            _ => {
                                return Err(format!(
                                    "expected a type name, found `{}`",
                                    self.describe(self.pos)
                                ));
                            }
                        };
                        self.expect_sym(")")?;
                        return Ok(Expr::Cast {
                            expr: Box::new(e),
                            ty,
                            try_: lw == "try_cast",
                        });
                    }
                    let mut args = Vec::new();
                    if !self.eat_sym(")") {
                        loop {
                            args.push(self.or()?);
                            if self.eat_sym(")") {
                                break;
                            }
                            self.expect_sym(",")?;
                        }
                    }
                    return Ok(Expr::Call(lw, args));
                }
                Ok(Self::name_ref(w))
            }
            Some(Tok::Sym(_)) => Err(format!("unexpected `{}`", self.describe(at))),
        }
    }

    fn case(&mut self) -> Result<Expr, String> {
        let mut arms = Vec::new();
        while self.eat_kw("when") {
            let c = self.or()?;
            self.expect_kw("then")?;
            let v = self.or()?;
            arms.push((c, v));
        }
        if arms.is_empty() {
            return Err("CASE without WHEN".into());
        }
        let otherwise = if self.eat_kw("else") {
            Some(Box::new(self.or()?))
        } else {
            None
        };
        self.expect_kw("end")?;
        Ok(Expr::Case(arms, otherwise))
    }
}

/// The conjuncts of an `AND` chain (a single expression is one conjunct).
pub(crate) fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Bin(Op::And, a, b) => {
            let mut v = conjuncts(a);
            v.extend(conjuncts(b));
            v
        }
        e => vec![e],
    }
}

/// Quotes a name as a SQL identifier (`"name"`, inner quotes doubled).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal (`'text'`, inner quotes doubled).
pub(crate) fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(s: Side, n: &str) -> Expr {
        Expr::Col(s, n.into())
    }

    #[test]
    fn reads_splink_level_forms() {
        assert_eq!(
            parse(r#""a_l" = "a_r""#).unwrap(),
            Expr::Bin(
                Op::Eq,
                Box::new(col(Side::L, "a")),
                Box::new(col(Side::R, "a"))
            )
        );
        assert_eq!(
            parse("l.\"first name\" = R.`first name`").unwrap(),
            Expr::Bin(
                Op::Eq,
                Box::new(col(Side::L, "first name")),
                Box::new(col(Side::R, "first name"))
            )
        );
        let e = parse(r#"jaro_winkler_similarity("b_l", "b_r") >= 0.9"#).unwrap();
        assert_eq!(
            e,
            Expr::Bin(
                Op::Ge,
                Box::new(Expr::Call(
                    "jaro_winkler_similarity".into(),
                    vec![col(Side::L, "b"), col(Side::R, "b")]
                )),
                Box::new(Expr::Num(0.9))
            )
        );
        let e = parse(r#"a_l IS NULL OR "a_r" is null"#).unwrap();
        assert!(matches!(e, Expr::Bin(Op::Or, _, _)));
        let e = parse("ABS(EPOCH(try_strptime(\"g_l\", '%Y%m%d')) - EPOCH(try_strptime(\"g_r\", '%Y%m%d'))) <= 5259600.0").unwrap();
        assert!(matches!(e, Expr::Bin(Op::Le, _, _)));
        let e =
            parse("ABS(TRY_CAST(\"h_l\" AS DOUBLE) - TRY_CAST(h_r AS DOUBLE)) <= 1e-3").unwrap();
        assert!(matches!(e, Expr::Bin(Op::Le, _, r) if *r == Expr::Num(1e-3)));
        let e = parse("(ABS(\"h_l\" - \"h_r\") / (CASE WHEN \"h_r\" > \"h_l\" THEN \"h_r\" ELSE \"h_l\" END)) < 0.1").unwrap();
        assert!(matches!(e, Expr::Bin(Op::Lt, _, _)));
        assert_eq!(
            conjuncts(&parse("(l.a = r.a) AND (l.b = r.b) and l.c = r.c").unwrap()).len(),
            3
        );
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(parse("").is_err());
        assert!(parse("a_l = ").is_err());
        assert!(parse("\"a_l = a_r").is_err());
        assert!(parse("a_l = a_r)").is_err());
        assert!(parse("a_l ~ a_r").is_err());
        assert!(parse("l. = r.a").is_err());
    }

    #[test]
    fn quoting_round_trips() {
        let q = quote("we\"ird");
        assert_eq!(parse(&q).unwrap(), Expr::Ident("we\"ird".into()));
        assert_eq!(parse(&quote_str("it's")).unwrap(), Expr::Str("it's".into()));
    }
}
