# frozen_string_literal: true

require 'fileutils'
require 'json'
require 'tmpdir'

module AgoraDriver
  # The driver's state directory (docs/COMPUTE.md "Driver restarts"), in the layout the
  # TypeScript driver keeps (services/driver/state-dir.ts): per node `<id>.json` (its record
  # and the identity of its process) and `<id>.log` (its process's stdout and stderr, written by
  # the process itself, so that they outlive the driver); `driver.lock` names the driver
  # process holding the directory.
  class StateDir
    # A log beyond this size is cut (copy-truncate): its tail goes to `<id>.log.1`.
    LOG_MAX_BYTES = 1_048_576
    # What is kept of a cut log, and read from the end of each log for a node's output.
    TAIL_BYTES = 65_536
    LOCK = 'driver.lock'

    # The directory of driver `service` on bus `bus` under `root` (empty: the OS temp dir's
    # `agora-driver-<uid>`).
    def self.path_of(root, service, bus)
      base = root.empty? ? File.join(Dir.tmpdir, "agora-driver-#{Process.uid}") : root
      File.join(base, "#{service}@#{bus.sub(%r{\Atcp://}, '').gsub(/[^A-Za-z0-9._-]/, '_')}")
    end

    # The start time of process `pid` (Linux /proc/<pid>/stat field 22: the fields after the
    # command's closing parenthesis start at field 3), or nil when there is none (or only its
    # zombie).
    def self.process_start(pid)
      stat = File.binread("/proc/#{pid}/stat")
      fields = stat[(stat.rindex(')') + 2)..].split(' ')
      %w[Z X].include?(fields[0]) ? nil : fields[19]
    rescue SystemCallError
      nil
    end

    # Whether `pid` is still the process that started at `start`.
    def self.same_process?(pid, start)
      pid.is_a?(Integer) && pid.positive? && !start.to_s.empty? && process_start(pid) == start
    end

    attr_reader :dir

    # Make the directory and take its lock; raises when a live driver process holds it.
    def initialize(dir, log)
      @dir = dir
      @log = log
      FileUtils.mkdir_p(dir, mode: 0o700)
      lock
    end

    # Give the directory up; it is removed when nothing is left in it.
    def release
      unlink(path(LOCK))
      Dir.rmdir(@dir)
    rescue SystemCallError
      nil # node records are left for the next start
    end

    # Every well-formed record ({'node' => wire map, 'process' => {'pid', 'start'} or nil});
    # others are logged and left alone.
    def load
      Dir.children(@dir).select { |name| name.end_with?('.json') }.sort.filter_map do |name|
        record = read_json(path(name))
        id = name.delete_suffix('.json')
        next record if record.is_a?(Hash) && record['node'].is_a?(Hash) && record['node']['id'] == id && ID.match?(id)

        @log.warn('unreadable node record left alone', file: name)
        nil
      end
    end

    # Write a node's record (whole: a new file renamed over the old one).
    def save(record)
      file = path("#{record['node']['id']}.json")
      File.write("#{file}.tmp", JSON.generate(record))
      File.rename("#{file}.tmp", file)
    end

    # Forget a node: its record and its logs.
    def remove(id)
      %w[.json .log .log.1].each { |suffix| unlink(path("#{id}#{suffix}")) }
    end

    # The node's log, opened for appending, for its process's stdout and stderr: yields it,
    # closes it, answers what the block does.
    def open_log(id, &block)
      File.open(path("#{id}.log"), File::WRONLY | File::APPEND | File::CREAT, 0o600, &block)
    end

    # The last `lines` lines the node wrote (its cut log's, then its log's), each cut at
    # `line_max` characters.
    def output(id, lines, line_max)
      text = (tail(path("#{id}.log.1")) + tail(path("#{id}.log"))).force_encoding(Encoding::UTF_8).scrub
      all = text.split("\n", -1)
      all.pop if all.last == ''
      all.last(lines).map { |line| line.length > line_max ? "#{line[0, line_max]}…" : line }
    end

    # Keep a node's log under LOG_MAX_BYTES: its tail is copied to `<id>.log.1` and it is
    # truncated (the process appends, so it writes on at the new end). A line written between
    # the copy and the truncation is lost, as with logrotate's copytruncate.
    def trim_log(id)
      file = path("#{id}.log")
      size = File.size(file)
      return if size <= LOG_MAX_BYTES

      File.binwrite(path("#{id}.log.1"), File.open(file, 'rb') { |f| f.pread([TAIL_BYTES, size].min, size - [TAIL_BYTES, size].min) })
      File.truncate(file, 0)
    rescue SystemCallError, IOError => e
      @log.warn('could not cut the node log', node: id, err: e.message)
    end

    private

    def lock
      file = path(LOCK)
      me = JSON.generate({ pid: Process.pid, start: StateDir.process_start(Process.pid).to_s })
      2.times do
        File.open(file, File::WRONLY | File::CREAT | File::EXCL, 0o600) { |f| f.write(me) }
        return
      rescue Errno::EEXIST
        holder = read_json(file)
        break if holder.is_a?(Hash) && holder['pid'] != Process.pid && StateDir.same_process?(holder['pid'], holder['start'])

        unlink(file) # left by a driver that is gone
      end
      raise "the driver state directory #{@dir} is held by another running driver (#{LOCK}); " \
            'give each driver its own AGORA_DRIVER_STATE_DIR or service name'
    end

    # The last TAIL_BYTES of `file` from its first whole line ('' when there is no file).
    def tail(file)
      File.open(file, 'rb') do |f|
        size = f.size
        length = [TAIL_BYTES, size].min
        text = f.pread(length, size - length)
        length < size ? text[(text.index("\n") || -1) + 1..] : text
      end
    rescue SystemCallError
      +''
    end

    def path(name)
      File.join(@dir, name)
    end

    def read_json(file)
      JSON.parse(File.read(file))
    rescue SystemCallError, JSON::ParserError
      nil
    end

    def unlink(file)
      File.unlink(file)
    rescue Errno::ENOENT
      nil
    end
  end
end
