pub mod home;
pub mod meeting;
