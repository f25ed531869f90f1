//! chromedriver as a child process: started on a port the operating system picks, ended with everything it
//! started.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::BrowserError;

/// How long chromedriver may take to say which port it listens on.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running chromedriver, in a process group of its own.
///
/// Why a process group: chromedriver starts Chromium, which starts its zygote, GPU and renderer processes. When a
/// test panics nobody deletes the WebDriver session, and killing chromedriver alone would leave Chromium running
/// (and holding its profile directory). Killing the group ends them all.
pub(crate) struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    /// Start `chromedriver --port=0` and read the port it reports from its output, written to `log`.
    ///
    /// Why `--port=0`: the port is chosen by the operating system when chromedriver binds it, so tests running in
    /// parallel cannot collide — unlike picking a free port first and passing it on, which races.
    pub(crate) fn start(chromedriver: &Path, log: &Path) -> Result<Driver, BrowserError> {
        let out = File::create(log).map_err(|e| BrowserError::io(log, e))?;
        let err = out.try_clone().map_err(|e| BrowserError::io(log, e))?;
        let child = Command::new(chromedriver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| BrowserError::Driver {
                message: format!("could not start {}: {e}", chromedriver.display()),
                log: log.to_path_buf(),
            })?;
        let mut driver = Driver {
            child,
            port: 0,
            log: log.to_path_buf(),
        };
        driver.port = driver.wait_for_port()?;
        Ok(driver)
    }

    /// The port chromedriver listens on (127.0.0.1 only: chromedriver allows local connections only).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// chromedriver's and Chromium's output, for error messages.
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    fn wait_for_port(&mut self) -> Result<u16, BrowserError> {
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(port) = reported_port(&text) {
                return Ok(port);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BrowserError::Driver {
                    message: format!("chromedriver exited ({status}) before it listened"),
                    log: self.log.clone(),
                });
            }
            if Instant::now() > deadline {
                return Err(BrowserError::Driver {
                    message: format!(
                        "chromedriver did not report its port within {DRIVER_START_TIMEOUT:?}"
                    ),
                    log: self.log.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// End chromedriver and everything it started. Idempotent.
    pub(crate) fn kill(&mut self) {
        // Even when chromedriver has exited already, the group may still hold Chromium: end it all the same.
        let Ok(pgid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: `kill` has no memory-safety preconditions. The group id is chromedriver's pid (spawned with
        // `process_group(0)`); the kernel does not hand out a pid again while a process group of that id lives.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The port in chromedriver's "ChromeDriver was started successfully on port 38685." line.
fn reported_port(output: &str) -> Option<u16> {
    let rest = output.split("started successfully on port ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&p| p != 0)
}

#[cfg(test)]
mod tests {
    use super::reported_port;

    #[test]
    fn reads_the_port_chromedriver_reports() {
        let out = "Starting ChromeDriver 156.0 on port 0\nOnly local connections are allowed.\n\
                   ChromeDriver was started successfully on port 38685.\n";
        assert_eq!(reported_port(out), Some(38685));
        assert_eq!(reported_port("Starting ChromeDriver on port 0\n"), None);
        assert_eq!(reported_port("started successfully on port "), None);
    }
}
