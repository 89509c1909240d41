//! Builds the expression tree from tokens with RocketMQ's grammar and the checks its parser
//! makes at compile time (what may be compared with what, BETWEEN bounds, IN on a property).
//!
//! Precedence, loosest first: `OR`; `AND`; `=`, `<>`, `IS [NOT] NULL`; `<`, `<=`, `>`, `>=`,
//! `[NOT] BETWEEN`, `[NOT] IN`; unary `+`, `-`, `NOT`. As in RocketMQ, `NOT` binds tighter than
//! a comparison, so negate a comparison with parentheses: `NOT (a = 1)`.

use crate::lexer::{Spanned, Token};
use crate::FilterError;

/// A constant in an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Long(i64),
    Double(f64),
    Bool(bool),
    Null,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// The expression tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Const(Literal),
    Property(String),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// `=` (`IS NULL` is equality with NULL); `<>` and `IS NOT NULL` are `Not(Equal)`.
    Equal(Box<Node>, Box<Node>),
    Compare(CmpOp, Box<Node>, Box<Node>),
    In {
        property: String,
        values: Vec<String>,
        negated: bool,
    },
}

impl Node {
    /// Whether the node yields a boolean (and may stand where a condition is expected).
    fn is_boolean(&self) -> bool {
        match self {
            Node::Const(Literal::Bool(_)) => true,
            Node::Const(_) | Node::Property(_) => false,
            _ => true,
        }
    }

    fn describe(&self) -> String {
        match self {
            Node::Const(Literal::Str(s)) => format!("'{s}'"),
            Node::Const(Literal::Long(n)) => n.to_string(),
            Node::Const(Literal::Double(n)) => n.to_string(),
            Node::Const(Literal::Bool(b)) => b.to_string().to_uppercase(),
            Node::Const(Literal::Null) => "NULL".to_owned(),
            Node::Property(name) => name.clone(),
            _ => "a condition".to_owned(),
        }
    }
}

/// Parses a whole expression, which must be a condition.
pub(crate) fn parse(tokens: &[Spanned], text_len: usize) -> Result<Node, FilterError> {
    let mut p = Parser {
        tokens,
        pos: 0,
        text_len,
    };
    if tokens.is_empty() {
        return Err(FilterError::new("the expression is empty"));
    }
    let node = p.or_expr()?;
    if let Some(extra) = p.peek() {
        return Err(FilterError::at(
            extra.at,
            format!("unexpected {}", show(&extra.token)),
        ));
    }
    boolean(node, "the expression")
}

struct Parser<'t> {
    tokens: &'t [Spanned],
    pos: usize,
    text_len: usize,
}

fn show(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("'{w}'"),
        Token::Str(s) => format!("'{s}'"),
        Token::Long(n) => n.to_string(),
        Token::Double(n) => n.to_string(),
        Token::Symbol(s) => format!("'{s}'"),
    }
}

fn boolean(node: Node, role: &str) -> Result<Node, FilterError> {
    if node.is_boolean() {
        Ok(node)
    } else {
        Err(FilterError::new(format!(
            "{role} must be a condition, but {} is not (compare it, e.g. {} = 'x')",
            node.describe(),
            node.describe()
        )))
    }
}

const KEYWORDS: [&str; 9] = [
    "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE",
];

impl Parser<'_> {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.pos)
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.text_len, |t| t.at)
    }

    fn keyword(&mut self, word: &str) -> bool {
        let hit = matches!(self.peek(), Some(Spanned { token: Token::Word(w), .. }) if w.eq_ignore_ascii_case(word));
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// `NOT` followed by `word` (e.g. `NOT IN`), consumed only together.
    fn not_keyword(&mut self, word: &str) -> bool {
        let is = |t: Option<&Spanned>, k: &str| matches!(t, Some(Spanned { token: Token::Word(w), .. }) if w.eq_ignore_ascii_case(k));
        if is(self.tokens.get(self.pos), "NOT") && is(self.tokens.get(self.pos + 1), word) {
            self.pos += 2;
            return true;
        }
        false
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        let hit =
            matches!(self.peek(), Some(Spanned { token: Token::Symbol(s), .. }) if *s == symbol);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), FilterError> {
        if self.symbol(symbol) {
            return Ok(());
        }
        Err(self.expected(&format!("'{symbol}'")))
    }

    fn expected(&self, what: &str) -> FilterError {
        match self.peek() {
            Some(t) => FilterError::at(t.at, format!("expected {what}, found {}", show(&t.token))),
            None => FilterError::at(
                self.text_len,
                format!("expected {what}, but the expression ends"),
            ),
        }
    }

    fn or_expr(&mut self) -> Result<Node, FilterError> {
        let mut left = self.and_expr()?;
        while self.keyword("OR") {
            let right = self.and_expr()?;
            left = Node::Or(
                Box::new(boolean(left, "each side of OR")?),
                Box::new(boolean(right, "each side of OR")?),
            );
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Node, FilterError> {
        let mut left = self.equality()?;
        while self.keyword("AND") {
            let right = self.equality()?;
            left = Node::And(
                Box::new(boolean(left, "each side of AND")?),
                Box::new(boolean(right, "each side of AND")?),
            );
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Node, FilterError> {
        let mut left = self.comparison()?;
        loop {
            if self.symbol("=") {
                let right = self.comparison()?;
                left = equal(left, right)?;
            } else if self.symbol("<>") || self.symbol("!=") {
                let right = self.comparison()?;
                left = Node::Not(Box::new(equal(left, right)?));
            } else if self.keyword("IS") {
                let negated = self.keyword("NOT");
                if !self.keyword("NULL") {
                    return Err(self.expected("NULL after IS"));
                }
                let is_null = Node::Equal(Box::new(left), Box::new(Node::Const(Literal::Null)));
                left = if negated {
                    Node::Not(Box::new(is_null))
                } else {
                    is_null
                };
            } else {
                return Ok(left);
            }
        }
    }

    fn comparison(&mut self) -> Result<Node, FilterError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.symbol(">=") {
                Some(CmpOp::Ge)
            } else if self.symbol(">") {
                Some(CmpOp::Gt)
            } else if self.symbol("<=") {
                Some(CmpOp::Le)
            } else if self.symbol("<") {
                Some(CmpOp::Lt)
            } else {
                None
            };
            if let Some(op) = op {
                let right = self.unary()?;
                left = compare(op, left, right)?;
                continue;
            }
            let negated = self.not_keyword("BETWEEN");
            if negated || self.keyword("BETWEEN") {
                let low = self.unary()?;
                if !self.keyword("AND") {
                    return Err(self.expected("AND between the bounds of BETWEEN"));
                }
                let high = self.unary()?;
                left = between(left, low, high, negated)?;
                continue;
            }
            let negated = self.not_keyword("IN");
            if negated || self.keyword("IN") {
                let Node::Property(property) = left else {
                    return Err(FilterError::new(format!(
                        "IN needs a property on its left, got {}",
                        left.describe()
                    )));
                };
                left = Node::In {
                    property,
                    values: self.string_list()?,
                    negated,
                };
                continue;
            }
            return Ok(left);
        }
    }

    fn string_list(&mut self) -> Result<Vec<String>, FilterError> {
        self.expect_symbol("(")?;
        let mut values = Vec::new();
        loop {
            match self.peek() {
                Some(Spanned {
                    token: Token::Str(s),
                    ..
                }) => {
                    values.push(s.clone());
                    self.pos += 1;
                }
                _ => return Err(self.expected("a string literal in the IN list")),
            }
            if self.symbol(")") {
                return Ok(values);
            }
            self.expect_symbol(",")?;
        }
    }

    fn unary(&mut self) -> Result<Node, FilterError> {
        let at = self.here();
        if self.symbol("+") {
            return number_operand(self.unary()?, at, "+");
        }
        if self.symbol("-") {
            return match number_operand(self.unary()?, at, "-")? {
                Node::Const(Literal::Long(n)) => Ok(Node::Const(Literal::Long(n.wrapping_neg()))),
                Node::Const(Literal::Double(n)) => Ok(Node::Const(Literal::Double(-n))),
                other => Ok(other),
            };
        }
        if self.keyword("NOT") {
            let operand = self.unary()?;
            return Ok(Node::Not(Box::new(boolean(operand, "the operand of NOT")?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, FilterError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.expected("a value"));
        };
        self.pos += 1;
        match t.token {
            Token::Str(s) => Ok(Node::Const(Literal::Str(s))),
            Token::Long(n) => Ok(Node::Const(Literal::Long(n))),
            Token::Double(n) => Ok(Node::Const(Literal::Double(n))),
            Token::Symbol("(") => {
                let inner = self.or_expr()?;
                self.expect_symbol(")")?;
                Ok(inner)
            }
            Token::Word(w) if w.eq_ignore_ascii_case("TRUE") => {
                Ok(Node::Const(Literal::Bool(true)))
            }
            Token::Word(w) if w.eq_ignore_ascii_case("FALSE") => {
                Ok(Node::Const(Literal::Bool(false)))
            }
            Token::Word(w) if w.eq_ignore_ascii_case("NULL") => Ok(Node::Const(Literal::Null)),
            Token::Word(w) if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => Err(
                FilterError::at(t.at, format!("expected a value, found '{w}'")),
            ),
            Token::Word(w) => Ok(Node::Property(w)),
            Token::Symbol(s) => Err(FilterError::at(
                t.at,
                format!("expected a value, found '{s}'"),
            )),
        }
    }
}

fn number_operand(node: Node, at: usize, sign: &str) -> Result<Node, FilterError> {
    match node {
        Node::Const(Literal::Long(_) | Literal::Double(_)) => Ok(node),
        other => Err(FilterError::at(
            at,
            format!(
                "'{sign}' applies to number literals only, not {}",
                other.describe()
            ),
        )),
    }
}

fn equal(left: Node, right: Node) -> Result<Node, FilterError> {
    for side in [&left, &right] {
        if *side == Node::Const(Literal::Null) {
            return Err(FilterError::new(
                "NULL cannot be compared with '=' or '<>'; use IS NULL or IS NOT NULL",
            ));
        }
    }
    let constant = |n: &Node| matches!(n, Node::Const(_));
    if constant(&left) && constant(&right) && left.is_boolean() != right.is_boolean() {
        return Err(FilterError::new(format!(
            "{} cannot be compared with {}",
            left.describe(),
            right.describe()
        )));
    }
    Ok(Node::Equal(Box::new(left), Box::new(right)))
}

fn orderable(node: &Node) -> Result<(), FilterError> {
    match node {
        Node::Property(_) | Node::Const(Literal::Long(_) | Literal::Double(_)) => Ok(()),
        other => Err(FilterError::new(format!(
            "{} cannot be compared with <, <=, >, >= or BETWEEN: only numbers can",
            other.describe()
        ))),
    }
}

fn compare(op: CmpOp, left: Node, right: Node) -> Result<Node, FilterError> {
    orderable(&left)?;
    orderable(&right)?;
    Ok(Node::Compare(op, Box::new(left), Box::new(right)))
}

fn between(value: Node, low: Node, high: Node, negated: bool) -> Result<Node, FilterError> {
    orderable(&value)?;
    orderable(&low)?;
    orderable(&high)?;
    if let (Node::Const(l), Node::Const(h)) = (&low, &high) {
        let as_f64 = |l: &Literal| match l {
            Literal::Long(n) => *n as f64,
            Literal::Double(n) => *n,
            _ => f64::NAN,
        };
        if as_f64(l) > as_f64(h) {
            return Err(FilterError::new(format!(
                "Illegal values of between, left value({}) must less than or equal to right value({})",
                low.describe(),
                high.describe()
            )));
        }
    }
    let node = if negated {
        Node::Or(
            Box::new(compare(CmpOp::Lt, value.clone(), low)?),
            Box::new(compare(CmpOp::Gt, value, high)?),
        )
    } else {
        Node::And(
            Box::new(compare(CmpOp::Ge, value.clone(), low)?),
            Box::new(compare(CmpOp::Le, value, high)?),
        )
    };
    Ok(node)
}
