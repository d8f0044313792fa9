//! A QEMU virtual machine running the appliance image.

use crate::console::Console;
use crate::qmp::Qmp;
use crate::{HarnessError, TEST_ROOT_PASSWORD};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the virtual machine's firmware boots the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS: GRUB's i386-pc core image in the BIOS boot partition.
    Bios,
    /// OVMF: GRUB's EFI image on the EFI system partition.
    Uefi,
}

/// What to boot, and how.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Names the log file and the work folder.
    pub name: String,
    pub image: PathBuf,
    pub firmware: Firmware,
    pub memory_mib: u32,
    /// `(host port on 127.0.0.1, guest port)` forwards on QEMU's user network.
    pub forwards: Vec<(u16, u16)>,
    /// Raw disk images attached as USB drives from power-on.
    pub usb_at_boot: Vec<PathBuf>,
    /// How long the boot to the login prompt may take.
    pub boot_timeout: Duration,
    /// Extra QEMU arguments.
    pub extra_args: Vec<String>,
}

impl VmConfig {
    pub fn new(name: &str) -> VmConfig {
        VmConfig {
            name: name.to_string(),
            image: crate::test_image(),
            firmware: Firmware::Bios,
            memory_mib: 512,
            forwards: Vec::new(),
            usb_at_boot: Vec::new(),
            boot_timeout: Duration::from_secs(180),
            extra_args: Vec::new(),
        }
    }

    pub fn firmware(mut self, f: Firmware) -> Self {
        self.firmware = f;
        self
    }

    pub fn forward(mut self, host: u16, guest: u16) -> Self {
        self.forwards.push((host, guest));
        self
    }

    pub fn usb_at_boot(mut self, image: &Path) -> Self {
        self.usb_at_boot.push(image.to_path_buf());
        self
    }
}

/// A command's output (stdout and stderr together) and exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdOutput {
    pub output: String,
    pub status: i32,
}

const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// A running appliance.
pub struct Vm {
    config: VmConfig,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    console: Console,
    qmp: Option<Qmp>,
    work: tempfile::TempDir,
    disk: PathBuf,
    log: PathBuf,
    logged_in: bool,
    seq: AtomicU64,
}

impl Vm {
    /// Creates a copy-on-write overlay of the image and boots it, waiting
    /// for the login prompt on the serial line.
    pub fn boot(config: VmConfig) -> Result<Vm, HarnessError> {
        if !config.image.is_file() {
            return Err(HarnessError::Setup(format!(
                "no image at {}: build it first with ci/build-image.sh",
                config.image.display()
            )));
        }
        let work = tempfile::Builder::new()
            .prefix(&format!("systest-{}-", config.name))
            .tempdir()
            .map_err(HarnessError::io("creating a work folder"))?;
        let disk = work.path().join("disk.qcow2");
        let image = config
            .image
            .canonicalize()
            .map_err(HarnessError::io("resolving the image path"))?;
        let status = Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
            .arg(&image)
            .arg(&disk)
            .status()
            .map_err(HarnessError::io(
                "running qemu-img (apt-get install qemu-utils)",
            ))?;
        if !status.success() {
            return Err(HarnessError::Setup(format!(
                "qemu-img create failed: {status}"
            )));
        }
        if config.firmware == Firmware::Uefi {
            std::fs::copy(OVMF_VARS, work.path().join("vars.fd")).map_err(HarnessError::io(
                format!("copying {OVMF_VARS} (apt-get install ovmf)"),
            ))?;
        }
        let logs = crate::repo_root().join("target/systest");
        std::fs::create_dir_all(&logs).map_err(HarnessError::io("creating target/systest"))?;
        let log = logs.join(format!("{}.log", config.name));
        std::fs::write(&log, b"")
            .map_err(HarnessError::io(format!("creating {}", log.display())))?;
        let mut vm = Vm {
            console: Console::start_placeholder(),
            config,
            child: None,
            stdin: None,
            qmp: None,
            work,
            disk,
            log,
            logged_in: false,
            seq: AtomicU64::new(0),
        };
        vm.start()?;
        vm.wait_login_prompt()?;
        Ok(vm)
    }

    fn qemu_args(&self) -> Vec<String> {
        let c = &self.config;
        let mut a: Vec<String> = [
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-machine",
            "q35",
            "-smp",
            "1",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-no-user-config",
            "-nodefaults",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.push("-m".into());
        a.push(c.memory_mib.to_string());
        a.push("-qmp".into());
        a.push(format!(
            "unix:{},server=on,wait=off",
            self.qmp_path().display()
        ));
        a.push("-drive".into());
        a.push(format!(
            "file={},format=qcow2,if=virtio",
            self.disk.display()
        ));
        if c.firmware == Firmware::Uefi {
            a.push("-drive".into());
            a.push(format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"
            ));
            a.push("-drive".into());
            a.push(format!(
                "if=pflash,format=raw,unit=1,file={}",
                self.work.path().join("vars.fd").display()
            ));
        }
        let mut netdev = "user,id=net0".to_string();
        for (host, guest) in &c.forwards {
            netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
        }
        a.extend(["-netdev".into(), netdev]);
        a.extend(["-device".into(), "virtio-net-pci,netdev=net0".into()]);
        a.extend(["-device".into(), "qemu-xhci,id=xhci".into()]);
        for (i, img) in c.usb_at_boot.iter().enumerate() {
            a.push("-drive".into());
            a.push(format!(
                "if=none,id=bootusb{i},format=raw,file={}",
                img.display()
            ));
            a.push("-device".into());
            a.push(format!(
                "usb-storage,bus=xhci.0,drive=bootusb{i},id=bootusb{i}dev"
            ));
        }
        a.extend(c.extra_args.iter().cloned());
        a
    }

    fn qmp_path(&self) -> PathBuf {
        self.work.path().join("qmp.sock")
    }

    fn start(&mut self) -> Result<(), HarnessError> {
        let _ = std::fs::remove_file(self.qmp_path());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(HarnessError::io(format!("opening {}", self.log.display())))?;
        let mut child = Command::new("qemu-system-x86_64")
            .args(self.qemu_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(HarnessError::io(
                "starting qemu-system-x86_64 (apt-get install qemu-system-x86)",
            ))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| HarnessError::Setup("QEMU has no stdout".into()))?;
        self.stdin = child.stdin.take();
        self.console = Console::start(stdout, log);
        self.child = Some(child);
        self.qmp = Some(Qmp::connect(&self.qmp_path(), Duration::from_secs(20))?);
        self.logged_in = false;
        Ok(())
    }

    fn timeout_error(&self, what: &str, timeout: Duration) -> HarnessError {
        HarnessError::Timeout {
            what: what.to_string(),
            secs: timeout.as_secs(),
            log: self.log.clone(),
            tail: self.console.tail(40),
        }
    }

    fn exited_error(&mut self) -> HarnessError {
        let status = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
            .map(|s| s.to_string())
            .unwrap_or_else(|| "closed its console".into());
        HarnessError::Exited {
            status,
            log: self.log.clone(),
            tail: self.console.tail(40),
        }
    }

    /// Waits for `text` to appear on the console after `from`
    /// (see [`Vm::cursor`]); returns the cursor just after it.
    pub fn wait_for_from(
        &mut self,
        from: usize,
        text: &str,
        timeout: Duration,
    ) -> Result<usize, HarnessError> {
        match self
            .console
            .wait_for(from, timeout, |s| s.find(text).map(|i| i + text.len()))
        {
            Ok(end) => Ok(from + end),
            Err(true) => Err(self.timeout_error(&format!("waiting for {text:?}"), timeout)),
            Err(false) => Err(self.exited_error()),
        }
    }

    /// Waits for `text` to appear on the console from now on.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> Result<usize, HarnessError> {
        let from = self.cursor();
        self.wait_for_from(from, text, timeout)
    }

    /// The serial terminal's screen as a terminal would show it (80x24), for
    /// full-screen programs such as the console.
    pub fn screen(&self) -> String {
        self.console.screen()
    }

    /// Waits until the screen shows `text`.
    pub fn wait_screen(&mut self, text: &str, timeout: Duration) -> Result<(), HarnessError> {
        match self.console.wait_screen(text, timeout) {
            Ok(()) => Ok(()),
            Err(true) => Err(HarnessError::Timeout {
                what: format!("waiting for {text:?} on the screen"),
                secs: timeout.as_secs(),
                log: self.log.clone(),
                tail: self.console.screen(),
            }),
            Err(false) => Err(self.exited_error()),
        }
    }

    /// The position of the console's end, for a later [`Vm::wait_for_from`].
    pub fn cursor(&self) -> usize {
        self.console.cursor()
    }

    /// Everything printed on the console after `from`.
    pub fn console_since(&self, from: usize) -> String {
        self.console
            .wait_for(from, Duration::ZERO, |s| Some(s.to_string()))
            .unwrap_or_default()
    }

    fn wait_login_prompt(&mut self) -> Result<(), HarnessError> {
        let t = self.config.boot_timeout;
        self.wait_for_from(0, " login: ", t).map(|_| ())
    }

    /// Types raw bytes on the serial line.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), HarnessError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| HarnessError::Setup("the VM is not running".into()))?;
        // The emulated UART's input buffer is small: type in chunks.
        for chunk in bytes.chunks(16) {
            stdin
                .write_all(chunk)
                .and_then(|_| stdin.flush())
                .map_err(HarnessError::io("typing on the serial line"))?;
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }

    /// Logs in as root (test image only) and prepares the shell for
    /// [`Vm::run`]: no echo, no prompt, quiet kernel.
    pub fn login(&mut self) -> Result<(), HarnessError> {
        self.login_as("root", TEST_ROOT_PASSWORD)?;
        let from = self.cursor();
        self.send(b"stty -echo; export PS1= PS2=; dmesg -n 1; echo READY-$((6*7))\n")?;
        self.wait_for_from(from, "READY-42", Duration::from_secs(30))?;
        self.logged_in = true;
        Ok(())
    }

    /// Answers the login prompt. The prompt must be on screen (after boot,
    /// or after a logout).
    pub fn login_as(&mut self, user: &str, password: &str) -> Result<(), HarnessError> {
        let from = self.cursor();
        self.send(format!("{user}\n").as_bytes())?;
        self.wait_for_from(from, "Password: ", Duration::from_secs(30))?;
        // login turns echo off just after printing its prompt: give it a moment.
        std::thread::sleep(Duration::from_millis(300));
        let from = self.cursor();
        self.send(format!("{password}\n").as_bytes())?;
        // Anything after the password line means login went on; the
        // caller checks what it expects to see.
        self.console
            .wait_for(from, Duration::from_secs(30), |s| {
                (!s.trim().is_empty()).then_some(())
            })
            .map_err(|_| {
                self.timeout_error("waiting for the login to proceed", Duration::from_secs(30))
            })
    }

    /// Runs a shell command; returns its output and exit status.
    pub fn run_timeout(&mut self, cmd: &str, timeout: Duration) -> Result<CmdOutput, HarnessError> {
        if !self.logged_in {
            self.login()?;
        }
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let begin = format!("@@BEGIN-{n}@@");
        let end = format!("@@END-{n}-");
        let from = self.cursor();
        // The markers are assembled by the shell, so the typed command line
        // (were it echoed) could never match them.
        let line = format!(
            "echo @@BEGIN-{n}@''@; {{ {cmd}\n}} </dev/null 2>&1; echo \"@@END-{n}-$?@\"'@'\n"
        );
        self.send(line.as_bytes())?;
        let what = format!("running `{cmd}`");
        let result = self.console.wait_for(from, timeout, |s| {
            let b = s.find(&begin)?;
            let body = &s[b + begin.len()..];
            let e = body.find(&end)?;
            let rest = &body[e + end.len()..];
            let close = rest.find("@@")?;
            let status: i32 = rest[..close].parse().ok()?;
            let output = body[..e].trim_start_matches('\n').to_string();
            Some(CmdOutput { output, status })
        });
        match result {
            Ok(out) => Ok(out),
            Err(true) => Err(self.timeout_error(&what, timeout)),
            Err(false) => Err(self.exited_error()),
        }
    }

    pub fn run(&mut self, cmd: &str) -> Result<CmdOutput, HarnessError> {
        self.run_timeout(cmd, Duration::from_secs(60))
    }

    /// Runs a command that must succeed; returns its output.
    pub fn ok(&mut self, cmd: &str) -> Result<String, HarnessError> {
        self.ok_timeout(cmd, Duration::from_secs(60))
    }

    /// [`Vm::ok`] with a time-out of its own, for long commands.
    pub fn ok_timeout(&mut self, cmd: &str, timeout: Duration) -> Result<String, HarnessError> {
        let out = self.run_timeout(cmd, timeout)?;
        if out.status != 0 {
            return Err(HarnessError::Command {
                cmd: cmd.to_string(),
                status: out.status,
                output: out.output,
            });
        }
        Ok(out.output)
    }

    /// A QMP command.
    pub fn qmp(
        &mut self,
        command: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, HarnessError> {
        self.qmp
            .as_mut()
            .ok_or_else(|| HarnessError::Setup("the VM is not running".into()))?
            .execute(command, args)
    }

    /// Hot-plugs a raw disk image as a USB mass-storage drive.
    pub fn usb_plug(&mut self, id: &str, image: &Path) -> Result<(), HarnessError> {
        self.qmp(
            "blockdev-add",
            json!({"driver": "raw", "node-name": id,
                   "file": {"driver": "file", "filename": image.display().to_string()}}),
        )?;
        self.qmp(
            "device_add",
            json!({"driver": "usb-storage", "bus": "xhci.0", "drive": id, "id": id}),
        )?;
        Ok(())
    }

    /// Pulls a USB drive plugged with [`Vm::usb_plug`].
    pub fn usb_unplug(&mut self, id: &str) -> Result<(), HarnessError> {
        self.qmp("device_del", json!({"id": id}))?;
        self.qmp
            .as_mut()
            .ok_or_else(|| HarnessError::Setup("the VM is not running".into()))?
            .wait_event_matching(
                "DEVICE_DELETED",
                |data| data["device"] == id,
                Duration::from_secs(30),
            )?;
        self.qmp("blockdev-del", json!({"node-name": id}))?;
        Ok(())
    }

    /// Cuts the power: QEMU stops at once, nothing is flushed by the guest.
    pub fn power_off_hard(&mut self) -> Result<(), HarnessError> {
        let _ = self.qmp("quit", json!({}));
        self.reap(Duration::from_secs(10));
        Ok(())
    }

    fn reap(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Powers the machine on again after [`Vm::power_off_hard`] or a guest
    /// power-off, on the same disk, and waits for the login prompt.
    pub fn power_on(&mut self) -> Result<(), HarnessError> {
        if self.child.is_some() {
            return Err(HarnessError::Setup("the VM is still running".into()));
        }
        // The new console starts empty: the prompt is looked for from its start.
        self.start()?;
        self.wait_login_prompt()
    }

    /// `reboot` in the guest, then waits for the login prompt again.
    pub fn reboot(&mut self) -> Result<(), HarnessError> {
        let from = self.cursor();
        self.send(b"reboot\n")?;
        self.logged_in = false;
        let t = self.config.boot_timeout;
        self.wait_for_from(from, " login: ", t)?;
        Ok(())
    }

    /// `poweroff` in the guest; waits for QEMU to exit. Returns whether the
    /// guest powered off cleanly within the time-out.
    pub fn poweroff(&mut self, timeout: Duration) -> Result<bool, HarnessError> {
        self.send(b"poweroff\n")?;
        self.logged_in = false;
        let status = self.reap(timeout);
        Ok(status.is_some_and(|s| s.success()))
    }

    /// The path of this VM's console log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The VM's work folder (overlay disk, QMP socket); removed on drop.
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
