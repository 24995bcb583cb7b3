//! The smallest WAGI handler: answers `hello, <name>` (name from `?name=`, default `world`).

fn main() {
    wagi::run(|req| -> Result<_, wagi::BoxError> {
        let name = req.query("name").unwrap_or("world");
        Ok(format!("hello, {name}\n"))
    })
}
