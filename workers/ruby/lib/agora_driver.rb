# frozen_string_literal: true

# The Ruby compute driver: the driver contract of proto/driver.proto (docs/COMPUTE.md "The
# driver contract") served on the bus with the Ruby SDK. Nodes are real OS processes of this
# machine (workers/ruby/lib/agora_driver/processes.rb).

require_relative 'agora_bus'
require_relative 'agora_driver/node'
require_relative 'agora_driver/processes'
require_relative 'agora_driver/state_dir'

module AgoraDriver
  ID = /\A[a-z0-9][a-z0-9-]{0,63}\z/.freeze
  NAME = /\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\z/.freeze
  # Longest command accepted, in characters (as the TypeScript driver).
  COMMAND_MAX = 4096
  SERVICE_NAME = /\A[A-Za-z0-9_.:-]{1,64}\z/.freeze
  # Longest output line answered, in characters (as the TypeScript driver).
  LINE_MAX = 2000
  # How often adopted processes are checked (they send no exit status) and logs cut.
  POLL_S = 0.5
  ENDED_UNWATCHED = 'ended while the driver was not running (exit status unknown)'
  ENDED_ADOPTED = 'ended (exit status unknown: its process was adopted after a driver restart)'

  # The driver's settings (README "Configuration") through an AgoraBus::EnvReader, which
  # collects the problems.
  def self.read_config(read)
    {
      service: read.matching('AGORA_RUBY_DRIVER_SERVICE', 'driver.ruby', SERVICE_NAME,
                             'a bus service name of 1-64 letters, digits, "_", ".", ":" or "-"'),
      allow_command: read.boolean('AGORA_DRIVER_ALLOW_COMMAND', false),
      stop_grace_ms: read.integer('AGORA_DRIVER_STOP_GRACE_MS', 5000, 0, 600_000),
      health_timeout_ms: read.integer('AGORA_DRIVER_HEALTH_TIMEOUT_MS', 10_000, 100, 600_000),
      output_lines: read.integer('AGORA_DRIVER_OUTPUT_LINES', 100, 1, 10_000),
      max_nodes: read.integer('AGORA_DRIVER_MAX_NODES', 100, 1, 100_000),
      state_dir: read.matching('AGORA_DRIVER_STATE_DIR', '', %r{\A(/[^\0]*)?\z}, 'an absolute path'),
      keep_nodes: read.boolean('AGORA_DRIVER_KEEP_NODES', false)
    }
  end

  # The rules and messages of lib/node-names.ts, so both drivers answer alike.
  NAME_MAX = 64

  # Why `name` is not a valid node name, or nil.
  def self.name_problem(name)
    return 'a name is required' if name.empty?
    return "the name has #{name.length} characters, at most #{NAME_MAX} allowed" if name.length > NAME_MAX
    return nil if NAME.match?(name)

    "name #{cut(name)} may only hold letters, digits, \"_\", \".\" and \"-\", and may not start with \".\" or \"-\""
  end

  # Why `id` is not a valid node id, or nil.
  def self.id_problem(id)
    return 'an id is required' if id.empty?
    return nil if ID.match?(id)

    "id #{cut(id)} must be 1-64 of a-z, 0-9 and \"-\", not starting with \"-\""
  end

  # A value for an error message: JSON-quoted and cut, so odd input stays readable.
  def self.cut(text)
    JSON.generate(text.length > NAME_MAX ? "#{text[0, NAME_MAX]}…" : text)
  end

  # The contract's methods over a table of nodes. Handlers take one map and answer one map.
  # Every node is recorded in the state directory `store` (a StateDir), and the nodes recorded
  # there by a driver before this one are adopted (docs/COMPUTE.md "Driver restarts").
  class Driver
    def initialize(config:, log:, store:)
      @config = config
      @log = log
      @store = store
      @lock = Mutex.new
      @nodes = {}
      @closed = false
      @processes = Processes.new(lock: @lock, config: config, log: log, store: store, on_exit: method(:exited),
                                 on_change: method(:persist))
      @lock.synchronize { store.load.each { |record| adopt(record) } }
      @poller = Thread.new { poll }
    end

    # name => callable, for AgoraBus::Worker. As lib/rpc does for the TypeScript services, a
    # missing (or nil) request is the empty map, every field at its default.
    def handlers
      %w[Create Start Stop Delete Status List Update].to_h do |name|
        [name, ->(request = nil) { public_send(name.downcase, request.nil? ? {} : request) }]
      end
    end

    def create(request)
      fields = create_fields(request)
      @lock.synchronize do
        known = @nodes[fields[:id]]
        next known.to_wire if known # a retry after a lost reply
        if @nodes.size >= @config[:max_nodes]
          raise AgoraBus::AgoraError.new('AGORA_ERR_DRIVER_FULL', "The driver already holds its maximum of #{@config[:max_nodes]} nodes")
        end

        node = Node.new(fields, AgoraBus.now_ms)
        @nodes[node.id] = node
        @processes.launch(node)
        persist(node)
        @log.info('node created', node: node.id, image: node.image, state: node.state)
        node.to_wire
      end
    end

    def start(request)
      change(request, 'start') do |node|
        conflict!('start', node) if [STOPPING, DELETING].include?(node.state)
        @processes.launch(node) if [STOPPED, ERROR].include?(node.state)
      end
    end

    def stop(request)
      change(request, 'stop') do |node|
        case node.state
        when DELETING then conflict!('stop', node)
        when ERROR then node.state = STOPPED
        when BUILDING, ACTIVE
          node.state = STOPPING
          @processes.terminate(node)
        end
      end
    end

    def delete(request)
      change(request, 'delete') do |node|
        next if node.state == DELETING

        @processes.terminate(node) unless node.state == STOPPING
        node.state = DELETING
        @nodes.delete(node.id) unless node.process?
      end
    end

    # The node, with the last lines of its output (read from its log).
    def status(request)
      id = node_id(request)
      @lock.synchronize do
        find(id).to_wire.merge('output' => @store.output(id, @config[:output_lines], LINE_MAX))
      end
    end

    def list(request)
      owner = string(map(request), 'owner')
      @lock.synchronize do
        { 'nodes' => @nodes.values.select { |n| owner.empty? || n.owner == owner }.map(&:to_wire) }
      end
    end

    def update(request)
      name = string(map(request), 'name')
      size = string(request, 'size')
      problem = name.empty? ? nil : AgoraDriver.name_problem(name)
      invalid!(problem) if problem
      unknown_size!(size) unless size.empty? || SIZES.key?(size)
      change(request, 'update') do |node|
        conflict!('update', node) if node.state == DELETING
        node.name = name unless name.empty?
        node.size = size unless size.empty?
      end
    end

    # The driver is stopping. With keep_nodes, leave every process running, recorded for the
    # next driver; else stop them all (SIGTERM, SIGKILL after the grace period) and forget every
    # node. Then give the state directory up.
    def shutdown
      unless @config[:keep_nodes]
        @processes.stop_all(@lock.synchronize { @nodes.values })
        @lock.synchronize do
          @nodes.each_key { |id| @store.remove(id) }
          @nodes.clear
        end
      end
      @lock.synchronize { @closed = true }
      @poller.kill
      @store.release
    end

    private

    # Run `block` on the node named by the request, under the lock; answer the node.
    def change(request, what)
      id = node_id(request)
      @lock.synchronize do
        node = find(id)
        before = node.state
        yield node
        node.updated_at = AgoraBus.now_ms
        persist(node)
        @log.info("node #{what}", node: id, from: before, to: node.state) if before != node.state
        node.to_wire
      end
    end

    # Record the node as it now is, or forget it once it has left the table. Under the lock.
    def persist(node)
      return if @closed
      return @store.remove(node.id) unless @nodes[node.id].equal?(node)

      @store.save(node.to_record)
    end

    # Take over a recorded node: its process, when it still runs, is watched again; one that
    # ended meanwhile settles the node as if it had been seen ending, its exit status unknown.
    def adopt(record)
      node = Node.from_wire(record['node'])
      process = record['process']
      @nodes[node.id] = node
      if process.is_a?(Hash) && StateDir.same_process?(process['pid'], process['start'])
        node.start = process['start']
        @processes.adopt(node)
        @log.info('node process adopted', node: node.id, pid: node.pid, state: node.state)
      elsif ![STOPPED, ERROR].include?(node.state)
        node.clear_process
        settle(node, nil, ENDED_UNWATCHED)
      end
    rescue KeyError, NoMethodError, TypeError => e
      @nodes.delete(record.dig('node', 'id'))
      @log.warn('unreadable node record left alone', err: AgoraBus.err_fields(e))
    end

    # Adopted processes send no exit status: Processes#poll checks them, under the lock.
    def poll
      loop do
        sleep(POLL_S)
        @lock.synchronize { @nodes.values.each { |node| @processes.poll(node) } }
      end
    end

    # Called by Processes under the lock when the process of the node's current run ends
    # (status nil: an adopted process, whose exit status is unknown).
    def exited(node, status)
      node.clear_process
      settle(node, status, ENDED_ADOPTED)
      @log.info('node process ended', node: node.id, state: node.state, exit_code: node.exit_code, signal: node.signal)
    end

    # No process left: STOPPED, gone or ERROR as the node's state says; `unknown` is the reason
    # of an ERROR whose exit status is unknown.
    def settle(node, status, unknown)
      node.exit_code = status&.exitstatus || -1
      node.signal = status&.termsig ? "SIG#{Signal.signame(status.termsig)}" : ''
      node.updated_at = AgoraBus.now_ms
      case node.state
      when STOPPING then node.state = STOPPED
      when DELETING then @nodes.delete(node.id)
      else
        node.state = ERROR
        node.reason = node.kill_reason || (status ? died_reason(node) : unknown)
      end
      persist(node)
    end

    def died_reason(node)
      node.signal.empty? ? "exited with code #{node.exit_code}" : "killed by signal #{node.signal}"
    end

    def find(id)
      @nodes.fetch(id) { raise AgoraBus::AgoraError.new('AGORA_ERR_NODE_NOT_FOUND', "No node #{id}") }
    end

    def create_fields(request)
      fields = %w[id name owner image size command].to_h { |key| [key.to_sym, string(map(request), key)] }
      fields[:size] = 'small' if fields[:size].empty?
      problem = AgoraDriver.id_problem(fields[:id]) || AgoraDriver.name_problem(fields[:name])
      invalid!(problem) if problem
      check_image(fields[:image], fields[:command])
      unknown_size!(fields[:size]) unless SIZES.key?(fields[:size])
      fields
    end

    def check_image(image, command)
      unless IMAGES.include?(image)
        raise AgoraBus::AgoraError.new('AGORA_ERR_NODE_UNKNOWN_IMAGE', "Unknown image #{AgoraDriver.cut(image)}; known images: #{IMAGES.join(', ')}",
                                       { 'images' => IMAGES })
      end
      if image != 'command'
        invalid!("image #{AgoraDriver.cut(image)} takes no command") unless command.empty?
        return
      end
      unless @config[:allow_command]
        raise AgoraBus::AgoraError.new('AGORA_ERR_NODE_COMMAND_NOT_ALLOWED',
                                       "Commands are not allowed by this driver: image #{AgoraDriver.cut(image)} is disabled")
      end
      invalid!("image #{AgoraDriver.cut(image)} needs a command") if command.strip.empty?
      invalid!("the command has #{command.length} characters, at most #{COMMAND_MAX} allowed") if command.length > COMMAND_MAX
    end

    # The id a call names; one no node could have is simply not found.
    def node_id(request)
      string(map(request), 'id')
    end

    def map(request)
      return request if request.is_a?(Hash)

      raise AgoraBus::AgoraError.new('AGORA_ERR_RPC_BAD_PARAMS', 'Invalid parameters: the request is one map')
    end

    # A string field; missing (or nil) is "", another type is refused.
    def string(request, key)
      value = request.fetch(key, nil)
      return '' if value.nil?
      return value if value.is_a?(String)

      raise AgoraBus::AgoraError.new('AGORA_ERR_RPC_BAD_PARAMS', "Invalid parameters: #{key} must be a string")
    end

    def invalid!(text)
      raise AgoraBus::AgoraError.new('AGORA_ERR_NODE_INVALID', "Invalid node: #{text}")
    end

    def unknown_size!(size)
      raise AgoraBus::AgoraError.new('AGORA_ERR_NODE_UNKNOWN_SIZE', "Unknown size #{AgoraDriver.cut(size)}; known sizes: #{SIZES.keys.join(', ')}",
                                     { 'sizes' => SIZES.keys })
    end

    def conflict!(what, node)
      raise AgoraBus::AgoraError.new('AGORA_ERR_NODE_CONFLICT', "Cannot #{what} a node that is #{node.state}")
    end
  end
end
