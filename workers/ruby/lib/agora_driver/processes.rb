# frozen_string_literal: true

require 'net/http'
require 'rbconfig'
require 'socket'

module AgoraDriver
  # The OS side of nodes: spawn a node's process on a free loopback port, keep its last output
  # lines, health-check it, stop it with SIGTERM then SIGKILL, and notice its exit at once (the
  # driver is its parent). Every method is called, and every callback runs, under `lock`.
  class Processes
    HOST = '127.0.0.1'
    HTTP_NODE = File.expand_path('../../http_node.rb', __dir__)
    # Between health probes of a starting process.
    PROBE_EVERY_S = 0.05
    PROBE_TIMEOUT_S = 1.0
    LINE_MAX_BYTES = 4096
    OUTPUT_AFTER_EXIT_S = 1.0

    # config: { allow_command:, stop_grace_ms:, health_timeout_ms:, output_lines: }.
    # on_exit.call(node, status) runs under the lock when the process of the node's current run ends.
    def initialize(lock:, config:, log:, on_exit:)
      @lock = lock
      @config = config
      @log = log
      @on_exit = on_exit
    end

    # Start the node's process (state BUILDING), or put the node in ERROR when it cannot start.
    def launch(node)
      node.run += 1
      node.kill_reason = nil
      node.reason = ''
      node.state = BUILDING
      port = free_port
      reader, writer = IO.pipe
      pid = Process.spawn(node_env(node, port), *argv(node), unsetenv_others: true, pgroup: true,
                                                               in: File::NULL, %i[out err] => writer, close_others: true)
      writer.close
      node.pid = pid
      node.port = port
      node.host = HOST
      watch(node, node.run, pid, reader)
    rescue SystemCallError, IOError => e
      [reader, writer].each { |io| io&.close unless io&.closed? }
      node.state = ERROR
      node.reason = "could not start its process: #{e.message}"
      @log.warn('node did not start', node: node.id, err: AgoraBus.err_fields(e))
    end

    # SIGTERM to the node's process group, SIGKILL after the grace period if it is still there.
    def terminate(node)
      return unless node.process?

      signal_group(node.pid, 'TERM')
      run = node.run
      pid = node.pid
      Thread.new do
        sleep(@config[:stop_grace_ms] / 1000.0)
        @lock.synchronize { signal_group(pid, 'KILL') if node.run == run && node.pid == pid }
      end
    end

    # At shutdown: SIGTERM to every process, SIGKILL to those left after the grace period.
    def stop_all(nodes)
      pids = nodes.select(&:process?).map(&:pid)
      pids.each { |pid| signal_group(pid, 'TERM') }
      deadline = AgoraBus.monotonic + @config[:stop_grace_ms] / 1000.0
      pids.each do |pid|
        sleep(0.02) while alive?(pid) && AgoraBus.monotonic < deadline
        signal_group(pid, 'KILL') if alive?(pid)
      end
    end

    private

    def argv(node)
      node.image == 'http' ? [RbConfig.ruby, HTTP_NODE] : ['/bin/sh', '-c', node.command]
    end

    # A small environment, nothing of the driver's own (docs/COMPUTE.md "Images and sizes").
    def node_env(node, port)
      { 'PATH' => ENV.fetch('PATH', '/usr/bin:/bin'), 'HOST' => HOST, 'PORT' => port.to_s,
        'NODE_ID' => node.id, 'NODE_NAME' => node.name, 'NODE_IMAGE' => node.image, 'NODE_SIZE' => node.size,
        'NODE_MEMORY_MB' => SIZES.fetch(node.size).to_s }
    end

    def free_port
      server = TCPServer.new(HOST, 0)
      server.addr[1]
    ensure
      server&.close
    end

    # Three threads per run: one reads the output, one waits for the exit, one health-checks.
    def watch(node, run, pid, reader)
      output = Thread.new { read_output(node, reader) }
      Thread.new do
        _, status = Process.wait2(pid)
        # The last lines are read before the exit is reported (a child the process left behind
        # may hold the pipe open: then it is not waited for).
        output.join(OUTPUT_AFTER_EXIT_S)
        @lock.synchronize { @on_exit.call(node, status) if node.run == run }
      end
      Thread.new { health_check(node, run, node.port, node.image) }
    end

    def read_output(node, reader)
      # A line longer than LINE_MAX_BYTES is kept as several: a node writing without newlines
      # cannot make the driver buffer without bound.
      reader.each_line(LINE_MAX_BYTES) do |line|
        text = line.chomp.force_encoding(Encoding::UTF_8).scrub
        @lock.synchronize { node.add_output(text, @config[:output_lines]) }
      end
    rescue IOError, SystemCallError
      nil
    ensure
      reader.close
    end

    # ACTIVE once healthy; killed, and ERROR by its exit, when not healthy in time.
    def health_check(node, run, port, image)
      deadline = AgoraBus.monotonic + @config[:health_timeout_ms] / 1000.0
      loop do
        return unless @lock.synchronize { node.run == run && node.state == BUILDING }
        break if AgoraBus.monotonic >= deadline
        return healthy(node, run) if probe(image, port)

        sleep(PROBE_EVERY_S)
      end
      @lock.synchronize do
        next unless node.run == run && node.state == BUILDING && node.process?

        node.kill_reason = "did not pass its health check within #{@config[:health_timeout_ms]} ms"
        signal_group(node.pid, 'KILL')
      end
    end

    def healthy(node, run)
      @lock.synchronize do
        next unless node.run == run && node.state == BUILDING

        node.state = ACTIVE
        node.updated_at = AgoraBus.now_ms
      end
    end

    # `http`: GET / answers 200; `command`: a TCP connection is accepted.
    def probe(image, port)
      if image == 'http'
        http = Net::HTTP.new(HOST, port)
        http.open_timeout = PROBE_TIMEOUT_S
        http.read_timeout = PROBE_TIMEOUT_S
        http.start { |h| h.get('/').code == '200' }
      else
        Socket.tcp(HOST, port, connect_timeout: PROBE_TIMEOUT_S).close
        true
      end
    rescue StandardError
      false
    end

    # The node runs in its own process group (pgroup: true), so `/bin/sh -c` children go too.
    def signal_group(pid, signal)
      Process.kill(signal, -pid)
    rescue Errno::ESRCH, Errno::EPERM
      nil
    end

    def alive?(pid)
      Process.kill(0, -pid)
      true
    rescue Errno::ESRCH, Errno::EPERM
      false
    end
  end
end
