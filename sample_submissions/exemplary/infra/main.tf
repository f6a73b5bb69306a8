# Minimal AWS deployment of the docqa HTTP API on ECS Fargate.
#
# The service is internal: it runs in private subnets and only accepts traffic
# from the CIDR blocks given in `allowed_cidr_blocks` (for example the VPC CIDR
# of the application that calls it). The index is baked into the image by the
# Dockerfile, so a corpus change means "build image, push, terraform apply".
#
# Usage:
#   terraform init
#   terraform apply -var 'image=123456789012.dkr.ecr.eu-west-1.amazonaws.com/docqa:1.2.3' \
#                   -var 'vpc_id=vpc-...' -var 'subnet_ids=["subnet-a","subnet-b"]' \
#                   -var 'allowed_cidr_blocks=["10.0.0.0/16"]'

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = {
      Service   = var.name
      ManagedBy = "terraform"
    }
  }
}

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name prefix for all resources."
  type        = string
  default     = "docqa"
}

variable "image" {
  description = "Fully qualified container image, pinned to a tag or digest."
  type        = string
}

variable "vpc_id" {
  description = "VPC to run the service in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the tasks (at least two, in different AZs)."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Provide at least two subnets for availability."
  }
}

variable "allowed_cidr_blocks" {
  description = "CIDR blocks allowed to call the API on the container port."
  type        = list(string)
}

variable "container_port" {
  description = "Port the HTTP API listens on inside the container."
  type        = number
  default     = 8000
}

variable "cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Fargate task memory (MiB). The index is held in memory."
  type        = number
  default     = 512
}

variable "desired_count" {
  description = "Number of running tasks."
  type        = number
  default     = 2
}

variable "log_retention_days" {
  description = "CloudWatch log retention."
  type        = number
  default     = 30
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Execution role: lets ECS pull the image and write logs. The application
# itself needs no AWS permissions, so there is deliberately no task role.
resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_security_group" "service" {
  name        = "${var.name}-service"
  description = "docqa API: inbound from allowed CIDRs only"
  vpc_id      = var.vpc_id

  ingress {
    description = "HTTP API"
    from_port   = var.container_port
    to_port     = var.container_port
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidr_blocks
  }

  egress {
    description = "Image pulls and logging"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = var.name
      image                  = var.image
      essential              = true
      readonlyRootFilesystem = true
      user                   = "10001:10001"
      portMappings           = [{ containerPort = var.container_port, protocol = "tcp" }]
      command = [
        "serve", "/data/index.json", "--corpus", "/data/corpus",
        "--host", "0.0.0.0", "--port", tostring(var.container_port),
      ]
      healthCheck = {
        command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${var.container_port}/health', timeout=2)"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 10
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = var.aws_region
          awslogs-stream-prefix = var.name
        }
      }
    }
  ])
}

resource "aws_ecs_service" "this" {
  name            = var.name
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = var.desired_count
  launch_type     = "FARGATE"

  deployment_minimum_healthy_percent = 50
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.service.id]
    assign_public_ip = false
  }
}

output "cluster_name" {
  description = "ECS cluster running the service."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "security_group_id" {
  description = "Security group to reference from callers' rules."
  value       = aws_security_group.service.id
}

output "log_group_name" {
  description = "CloudWatch log group with the JSON application logs."
  value       = aws_cloudwatch_log_group.this.name
}
