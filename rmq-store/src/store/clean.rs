//! Retention and the disk guard: deleting expired commit-log files (consume queues and index
//! follow) and refusing writes while the disk is too full.

use super::*;

impl Inner {
    pub(super) fn clean_loop(&self) {
        while self.sleep_unless_shutdown(self.config.clean_resource_interval) {
            if let Err(e) = self.clean_pass(false) {
                tracing::error!("clean-up pass failed: {e}");
            }
        }
    }

    pub(super) fn measure_disk(&self) -> f64 {
        let mut worst: f64 = 0.0;
        for dir in [
            self.config.commit_log_dir(),
            self.config.consume_queue_dir(),
            self.config.index_dir(),
        ] {
            match self.disk_probe.used_ratio(&dir) {
                Ok(r) => worst = worst.max(r),
                Err(e) => tracing::warn!("cannot measure disk usage of {}: {e}", dir.display()),
            }
        }
        self.disk_ratio_bits
            .store(worst.to_bits(), Ordering::Release);
        worst
    }

    /// Updates the disk-full flag from the current usage (set above the warning level, cleared
    /// below the clean-forcibly level, as RocketMQ).
    pub(super) fn check_disk(&self) -> f64 {
        let ratio = self.measure_disk();
        let warn = f64::from(self.config.disk_space_warning_level_ratio) / 100.0;
        let resume = f64::from(self.config.disk_space_clean_forcibly_ratio) / 100.0;
        if ratio > warn {
            if !self.disk_full.swap(true, Ordering::AcqRel) {
                tracing::error!("{}", self.disk_full_error());
            }
        } else if ratio < resume && self.disk_full.swap(false, Ordering::AcqRel) {
            tracing::info!(
                "disk usage {:.1}% is back under {}%: writes accepted again",
                ratio * 100.0,
                self.config.disk_space_clean_forcibly_ratio
            );
        }
        ratio
    }

    pub(super) fn clean_pass(&self, manual: bool) -> Result<usize> {
        let ratio = self.measure_disk();
        let hour = local_hour();
        let time_trigger = self.config.delete_hours().contains(&hour);
        let space_trigger = ratio > self.config.disk_max_used_ratio();
        let forcibly = self.config.clean_file_forcibly_enable
            && ratio > f64::from(self.config.disk_space_clean_forcibly_ratio) / 100.0;
        let mut deleted = 0;
        if manual || time_trigger || space_trigger || forcibly {
            let reserved = Duration::from_secs(self.config.file_reserved_time_hours * 3600);
            let now = SystemTime::now();
            while deleted < self.config.delete_file_batch_max {
                let files = self.commit_log.files();
                if files.len() <= 1 {
                    break;
                }
                let first = &files[0];
                let expired = first
                    .modified()
                    .map(|m| now.duration_since(m).unwrap_or_default() >= reserved)
                    .unwrap_or(false);
                if !(expired || forcibly) {
                    break;
                }
                if let Some(f) = self.commit_log.remove_first()? {
                    tracing::info!(
                        "deleted commit-log file {} ({}; disk {:.1}% used)",
                        f.path().display(),
                        if expired {
                            "expired"
                        } else {
                            "disk pressure, not yet expired"
                        },
                        ratio * 100.0
                    );
                    deleted += 1;
                }
            }
            if deleted > 0 {
                let min = self.commit_log.min_offset() as i64;
                for q in self.all_queues() {
                    q.delete_expired(min)?;
                }
                self.index.delete_expired(min)?;
            }
        }
        self.check_disk();
        Ok(deleted)
    }

    pub(super) fn disk_full_error(&self) -> StoreError {
        StoreError::DiskFull {
            used_pct: f64::from_bits(self.disk_ratio_bits.load(Ordering::Acquire)) * 100.0,
            limit_pct: self.config.disk_space_warning_level_ratio,
            resume_pct: self.config.disk_space_clean_forcibly_ratio,
            reserved_hours: self.config.file_reserved_time_hours,
            path: self.config.store_path_root_dir.clone(),
        }
    }
}

fn local_hour() -> u32 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r writes into the provided struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return ((t / 3600) % 24) as u32;
    }
    tm.tm_hour as u32
}
