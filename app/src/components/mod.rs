pub mod controls;
pub mod icon;
pub mod media_toggle;
pub mod prejoin;
pub mod stage;
pub mod tile;
pub mod video;
