//! What the layout engine answers.

use serde::{Deserialize, Serialize};

use super::geometry::Rect;
use super::request::TileId;

/// The layout produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrangement {
    Grid,
    /// A camera tile large, the others in a strip.
    Speaker,
    /// A screen share large, the others in a strip.
    Presentation,
}

/// A placed tile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub id: TileId,
    pub rect: Rect,
}

/// The result: every input tile is in `placed` or in `hidden`, once, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub arrangement: Arrangement,
    pub placed: Vec<Placement>,
    pub hidden: Vec<TileId>,
    /// The large tile of a speaker or presentation layout.
    pub main: Option<TileId>,
    /// The grid page shown (0 outside a grid) and how many there are (at least 1).
    pub page: usize,
    pub pages: usize,
}

impl Layout {
    pub fn rect_of(&self, id: TileId) -> Option<Rect> {
        self.placed.iter().find(|p| p.id == id).map(|p| p.rect)
    }

    pub fn is_hidden(&self, id: TileId) -> bool {
        self.hidden.contains(&id)
    }
}
